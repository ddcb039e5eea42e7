"""The public surface: __all__ sorted and complete, lazy statsmodels, METHODS."""

from __future__ import annotations

import subprocess
import sys

import forecasting


def test_all_is_sorted_and_importable() -> None:
    assert forecasting.__all__ == sorted(forecasting.__all__)
    for name in forecasting.__all__:
        assert hasattr(forecasting, name)
    for name in (
        "forecast",
        "cross_validate",
        "cleanse",
        "mase",
        "smape",
        "wmape",
        "scaled_bias",
        "rmsse",
        "tracking_signal",
        "METHODS",
    ):
        assert name in forecasting.__all__


def test_methods_tuple() -> None:
    assert isinstance(forecasting.METHODS, tuple) and forecasting.METHODS[0] == "auto"
    assert len(set(forecasting.METHODS)) == len(forecasting.METHODS)


def test_import_does_not_load_statsmodels() -> None:
    code = "import sys, forecasting; print('statsmodels' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
