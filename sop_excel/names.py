"""Every table's name, defined once: ``names.FORECAST`` is ``"tblForecast"``.

One constant per table of workbook_templates/sop_plan.toml (tests/sop_excel/test_names.py checks
both ways); code names a table by its constant, never by a string of its own.
"""

from __future__ import annotations

SETTINGS = "tblSettings"
ITEMS = "tblItems"
HISTORY = "tblHistory"
CLEANSING = "tblCleansing"
FORECAST = "tblForecast"
MODELS = "tblModels"
INPUTS = "tblInputs"
FAMILY_TARGETS = "tblFamilyTargets"
ROLLUP = "tblRollup"
SCENARIO_LIST = "tblScenarioList"
DRIVERS = "tblDrivers"
SCENARIO_PLAN = "tblScenarioPlan"
BUDGET = "tblBudget"
CAPACITY = "tblCapacity"
FINANCE = "tblFinance"
COMPARE = "tblCompare"
COMPARE_MONTHLY = "tblCompareMonthly"
LOAD = "tblLoad"
INVENTORY = "tblInventory"
LOCKS = "tblLocks"
LOCKED_PLAN = "tblLockedPlan"
SNAPSHOTS = "tblSnapshots"
FVA = "tblFVA"
WATERFALL = "tblWaterfall"
MONTH_ACCURACY = "tblMonthAccuracy"
ACTUALS = "tblActuals"
PRODUCTION = "tblProduction"
EVENTS = "tblEvents"
NEW_EVENT = "tblNewEvent"
EXECUTION = "tblExecution"
EXCEPTIONS = "tblExceptions"
EXCEPTION_LOG = "tblExceptionLog"
SENSING = "tblSensing"
WEEKS = "tblWeeks"
WEEKLY = "tblWeekly"
SUPPLY_WEEKS = "tblSupplyWeeks"
SUPPLY_ITEMS = "tblSupplyItems"
TREND = "tblTrend"
LOG = "tblLog"
CLOSED_MONTHS = "tblClosedMonths"
ARCHIVE = "tblArchive"
BASIS_KEY = "tblBasisKey"
BASIS_ITEMS = "tblBasisItems"
BASIS_MONTHS = "tblBasisMonths"
BASIS_NEXT_ITEMS = "tblBasisNextItems"
BASIS_NEXT_MONTHS = "tblBasisNextMonths"

ALL = (
    SETTINGS,
    ITEMS,
    HISTORY,
    CLEANSING,
    FORECAST,
    MODELS,
    INPUTS,
    FAMILY_TARGETS,
    ROLLUP,
    SCENARIO_LIST,
    DRIVERS,
    SCENARIO_PLAN,
    BUDGET,
    CAPACITY,
    FINANCE,
    COMPARE,
    COMPARE_MONTHLY,
    LOAD,
    INVENTORY,
    LOCKS,
    LOCKED_PLAN,
    SNAPSHOTS,
    FVA,
    WATERFALL,
    MONTH_ACCURACY,
    ACTUALS,
    PRODUCTION,
    EVENTS,
    NEW_EVENT,
    EXECUTION,
    EXCEPTIONS,
    EXCEPTION_LOG,
    SENSING,
    WEEKS,
    WEEKLY,
    SUPPLY_WEEKS,
    SUPPLY_ITEMS,
    TREND,
    LOG,
    CLOSED_MONTHS,
    ARCHIVE,
    BASIS_KEY,
    BASIS_ITEMS,
    BASIS_MONTHS,
    BASIS_NEXT_ITEMS,
    BASIS_NEXT_MONTHS,
)
"""Every table, in the layout's order."""
