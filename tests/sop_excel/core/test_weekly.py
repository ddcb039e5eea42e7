"""The 13-week view: phasing by working days across month ends, sensed weeks, frozen horizon."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_excel.core.drift import WorkCalendar
from sop_excel.core.sensing import sense_demand
from sop_excel.core.weekly import FROZEN, OPEN, week_label, week_starts, weekly_view

NOV, DEC, JAN, FEB = (
    pd.Timestamp(x) for x in ("2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01")
)


def plan_frame(per_month: dict[pd.Timestamp, float], item: str = "A") -> pd.DataFrame:
    return pd.DataFrame(
        {"item": item, "month": list(per_month), "volume": list(per_month.values())}
    )


def no_orders() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime([]), "item": [], "orders": []})


def test_weeks_start_on_the_monday_of_the_as_of_week():
    starts = week_starts(dt.date(2026, 11, 18))  # a Wednesday
    assert starts[0] == pd.Timestamp("2026-11-16") and len(starts) == 13
    assert (starts.day_of_week == 0).all() and (
        (starts[1:] - starts[:-1]) == pd.Timedelta(days=7)
    ).all()
    assert (
        week_label(1, starts[0], True) == "W1 16 Nov (frozen)"
        and week_label(5, starts[4], False) == "W5 14 Dec"
    )


def test_plan_is_phased_by_working_days_and_split_across_month_ends():
    # November 2026: 21 working days; December 2026: 23 (Mon-Fri, no holidays)
    plan = plan_frame({NOV: 210.0, DEC: 230.0, JAN: 210.0, FEB: 200.0})
    out = weekly_view(
        plan, no_orders(), dt.date(2026, 11, 18), dt.date(2026, 11, 17), frozen_weeks=4
    )
    w = out.set_index("week")
    assert w.loc[1, "plan"] == pytest.approx(50.0)  # Nov 16-20: 5 of 21 days of 210
    # week 3 (Nov 30 - Dec 6): Monday in November (1/21 of 210), Tuesday-Friday in December (4/23 of 230)
    assert w.loc[3, "plan"] == pytest.approx(10.0 + 40.0)
    assert w.loc[3, "working_days"] == 5
    assert w["horizon"].tolist() == [FROZEN] * 4 + [OPEN] * 9
    # no sensing: the days behind us count what was booked (nothing here), the rest is at plan
    assert w.loc[1, "sensed"] == pytest.approx(30.0)  # Wed-Fri at plan; Mon and Tue booked 0
    assert np.allclose(w.loc[2:, "sensed"], w.loc[2:, "plan"])


def test_holidays_move_the_plan_to_the_working_days():
    cal = WorkCalendar(
        holidays=[dt.date(2026, 11, 26), dt.date(2026, 11, 27)]
    )  # 19 working days left
    out = weekly_view(
        plan_frame({NOV: 190.0, DEC: 230.0}),
        no_orders(),
        dt.date(2026, 11, 18),
        dt.date(2026, 11, 17),
        calendar=cal,
        weeks=2,
    ).set_index("week")
    assert out.loc[1, "plan"] == pytest.approx(50.0) and out.loc[2, "plan"] == pytest.approx(30.0)
    assert out.loc[2, "working_days"] == 3


def test_sensed_weeks_book_orders_then_run_at_the_sensed_rate():
    # through Tue Nov 17: 11 of 21 working days; orders ran 50% above plan
    days = [d for d in pd.date_range(NOV, "2026-11-17") if d.day_of_week < 5]
    daily = pd.DataFrame({"date": days, "item": "A", "orders": 15.0})  # plan rate is 10 a day
    plan = plan_frame({NOV: 210.0, DEC: 230.0, JAN: 210.0, FEB: 200.0})
    sensed = sense_demand(
        daily,
        pd.Series({"A": 210.0}),
        pd.Series({"A": 230.0}),
        dt.date(2026, 11, 17),
        sigma_month=pd.Series({"A": 100.0}),
    )
    out = weekly_view(
        plan, daily, dt.date(2026, 11, 18), dt.date(2026, 11, 17), sensed=sensed
    ).set_index("week")
    s = sensed.iloc[0]
    rest_rate = (s["sensed_month"] - s["mtd_actual"]) / (
        1 - s["share"]
    )  # month rate for the days ahead
    assert out.loc[1, "orders"] == pytest.approx(30.0)  # Mon 16 and Tue 17
    assert out.loc[1, "sensed"] == pytest.approx(30.0 + rest_rate * 3 / 21)
    # November's sensed weeks add up to the sensed month
    nov = out.loc[1, "sensed"] + out.loc[2, "sensed"] + rest_rate * 1 / 21 + s["mtd_actual"] - 30.0
    assert nov == pytest.approx(s["sensed_month"])
    ratio = s["sensed_next_month"] / 230.0
    assert ratio > 1.0  # running hot carries into December
    assert out.loc[4, "sensed"] == pytest.approx(out.loc[4, "plan"] * ratio)  # Dec 7-11
    assert out.loc[8, "sensed"] == pytest.approx(out.loc[8, "plan"])  # January: at plan


def test_items_without_plan_or_orders_get_zero_weeks():
    plan = pd.concat([plan_frame({NOV: 210.0}), plan_frame({NOV: 0.0}, "B")])
    out = weekly_view(plan, no_orders(), dt.date(2026, 11, 18), dt.date(2026, 11, 17), weeks=3)
    b = out[out["item"] == "B"]
    assert len(b) == 3 and (b[["plan", "sensed", "orders"]].to_numpy() == 0).all()


def test_holidays_setting_reaches_the_weekly_view_through_the_pipeline():
    from pydantic import ValidationError

    from sop_excel import pipeline
    from sop_excel.demo import DEFAULT_SETTINGS
    from sop_excel.models import Settings

    base = {**DEFAULT_SETTINGS, "AsOfDate": dt.date(2026, 11, 18)}
    settings = Settings.model_validate({**base, "Holidays": "2026-11-27; 2026-11-26, 2026-11-26"})
    assert settings.holidays == (dt.date(2026, 11, 26), dt.date(2026, 11, 27))
    assert Settings.model_validate({**base, "Holidays": dt.datetime(2026, 12, 25)}).holidays == (
        dt.date(2026, 12, 25),
    )
    with pytest.raises(ValidationError, match="not a date"):
        Settings.model_validate({**base, "Holidays": "2026-11-26; Thanksgiving"})
    items = pd.DataFrame({"item": ["A"], "family": ["F"], "price": [2.0]})
    monthly = plan_frame({NOV: 190.0, DEC: 230.0, JAN: 210.0, FEB: 200.0})
    views = pipeline.sensing_frames(settings, items, monthly, no_orders(), dt.date(2026, 10, 31))
    weeks = views["tblWeeks"].set_index("week")
    assert weeks.loc[2, "working_days"] == 3 and weeks.loc[2, "plan"] == pytest.approx(
        30.0
    )  # 19 working days
    assert weeks.loc[1, "revenue"] == pytest.approx(100.0)
    s = views["tblSensing"].iloc[0]
    assert s["sensed_month"] == 190.0 and s["weight"] == 0.0  # no orders yet: the plan stands
