"""Many linear smoothers run over one history at once, without a Python loop over time.

The numpy smoothers (damped Holt, CES, Theta's level, seasonal ETS) search their parameters
on a grid. For fixed parameters each is a linear, time-invariant filter: its one-step errors
are the history convolved with the filter's impulse response, plus the responses to its
initial states. Those responses do not depend on the data, so they are computed once per grid
(by the recursion itself, fed zeros) and kept in :class:`Responses`; fitting a history is then
one matrix product per grid instead of a numpy call per month and grid state.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from forecasting._types import FloatArray

__all__ = ["Responses", "causal_filter"]

_DIRECT_MAX = 512
"""Longest history convolved directly (a lower-triangular Toeplitz product, O(G n^2)); longer
ones go through the FFT (O(G n log n)), where the product would cost more than the loop."""


def causal_filter(kernel: FloatArray, x: FloatArray) -> FloatArray:
    """``out[g, t] = sum_{s <= t} kernel[g, t - s] * x[s]`` for every row ``g``.

    ``kernel`` is (G, N) with N >= ``x.size``; returns (G, ``x.size``).

    >>> causal_filter(np.array([[1.0, 0.5, 0.25]]), np.array([1.0, 2.0, 4.0])).tolist()
    [[1.0, 2.5, 5.25]]
    """
    n = x.size
    if n == 0:
        return np.zeros((kernel.shape[0], 0))
    k = kernel[:, :n]
    if n <= _DIRECT_MAX:
        padded = np.concatenate([np.zeros(n - 1), x])
        toeplitz = sliding_window_view(padded, n)[::-1]  # [j, t] = x[t - j], 0 for t < j
        return k @ toeplitz
    size = 1 << (2 * n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(k, size) * np.fft.rfft(x, size), size)[:, :n]


class Responses:
    """Data-independent arrays of one grid, computed for the longest history seen so far.

    ``compute(n)`` returns a tuple of arrays whose last axis is time (length ``n``); their
    first ``k`` steps are the same for any ``n >= k`` (the responses are causal), so one
    computation serves every shorter history: :meth:`get` returns views cut to ``n``. They
    are computed for at least 160 months, and for twice the longest so far up to 512 months.
    """

    def __init__(self, compute: Callable[[int], tuple[FloatArray, ...]]) -> None:
        self._compute = compute
        self._state: tuple[int, tuple[FloatArray, ...]] = (0, ())

    def get(self, n: int) -> tuple[FloatArray, ...]:
        """The arrays cut to ``n`` steps."""
        have, arrays = self._state  # one read and one write: safe for threads (Dask workers)
        if n > have:
            size = max(n, min(2 * have, _DIRECT_MAX), 160)  # past 512 months: just n
            arrays = self._compute(size)
            self._state = (size, arrays)
        return tuple(a[..., :n] for a in arrays)
