"""Record statsforecast's CrostonSBA / TSB / DynamicOptimizedTheta forecasts on the seeded test
series, so the equality tests run on machines without statsforecast (CI installs only [dev]).

Usage: pip install statsforecast && python bench/record_statsforecast_refs.py
Writes tests/forecasting/data/statsforecast_refs.json (with the statsforecast version).
"""

from __future__ import annotations

import json
from pathlib import Path

import statsforecast
import statsforecast.models as sf

from tests.forecasting.test_intermittent import ALPHAS, SEEDS, _series

OUT = Path(__file__).resolve().parents[1] / "tests/forecasting/data/statsforecast_refs.json"


def main() -> None:
    refs = {"statsforecast": statsforecast.__version__, "sba": {}, "tsb": {}}
    for seed in SEEDS:
        y = _series(seed)
        refs["sba"][str(seed)] = sf.CrostonSBA().forecast(y, 12)["mean"].tolist()
        for a in ALPHAS:
            key = f"{seed}:{a[0]}:{a[1]}"
            refs["tsb"][key] = sf.TSB(alpha_d=a[0], alpha_p=a[1]).forecast(y, 12)["mean"].tolist()
    OUT.write_text(json.dumps(refs, indent=0))
    print(OUT)


if __name__ == "__main__":
    main()
