"""Graduated budget levels: GREEN -> YELLOW -> ORANGE -> RED, from a month's daily spend.

Pure functions over plain data (no AWS), so every rule can be checked on a hand-built series:

- RED: month-to-date above the monthly limit.
- ORANGE: month-to-date above the `orange` fraction of the limit, or a sustained rise: the last
  `rise_days` complete days each at least `rise_step` above the day before, at a pace that would
  take the month past the `yellow` fraction (a rise that cannot threaten the budget is not news).
- YELLOW: the month-end forecast above the `yellow` fraction of the limit.
- GREEN otherwise.

The forecast is month-to-date plus the median daily spend of the last `forecast_days` complete
days times the days left. The median, not the mean: a lone spike moves the forecast by its own
amount, not by thirty times it, so a one-day burst that falls back stays GREEN.

Hysteresis: a level goes up as soon as its threshold is crossed, but comes down only when the
value is below the threshold by `hysteresis` of the limit (and an ORANGE held by a rise only once
daily spend really falls), so a tenant hovering at a threshold does not flap. A new month starts
from GREEN: month-to-date resets, and so does the level (a suspended tenant gets its access back).

Missing data: a day with no datapoints spent nothing. Metering reads every window exactly once
(see metering.py), so a day without data is a day without use, not a gap to interpolate.
"""
import calendar
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

LEVELS = ("GREEN", "YELLOW", "ORANGE", "RED")
_TWO = Decimal("0.01")


def rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class Policy:
    limit: Decimal
    yellow: Decimal = Decimal("0.8")
    orange: Decimal = Decimal("0.9")
    hysteresis: Decimal = Decimal("0.05")
    rise_days: int = 3
    rise_step: Decimal = Decimal("0.10")
    forecast_days: int = 7


@dataclass(frozen=True)
class Assessment:
    level: str
    month: str
    month_to_date: Decimal
    forecast: Decimal
    sustained_rise: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)


def days_in_month(moment: datetime) -> int:
    return calendar.monthrange(moment.year, moment.month)[1]


def _usd(value: Decimal) -> str:
    return f"{value.quantize(_TWO)} USD"


def _complete_days(days: Mapping[str, Decimal], as_of: datetime) -> list[Decimal]:
    """Daily spend of this month's days that ended before `as_of`, oldest first, 0 for a day without data."""
    first, today = month_start(as_of).date(), as_of.date()
    return [Decimal(days.get((first + timedelta(n)).isoformat(), 0)) for n in range((today - first).days)]


def _rising(series: list[Decimal], policy: Policy) -> bool:
    tail = series[-(policy.rise_days + 1):]
    if len(tail) < policy.rise_days + 1 or tail[0] <= 0:
        return False
    return all(later >= earlier * (1 + policy.rise_step) for earlier, later in zip(tail, tail[1:]))


def _still_rising(series: list[Decimal], policy: Policy) -> bool:
    """The relaxed test that keeps an ORANGE from a rise: the last day has not fallen by `rise_step`."""
    return len(series) >= 2 and series[-1] > 0 and series[-1] >= series[-2] * (1 - policy.rise_step)


def assess(policy: Policy, days: Mapping[str, Decimal], as_of: datetime, previous: str = "GREEN",
           previous_month: str | None = None) -> Assessment:
    """The level at `as_of` from `days` ({"YYYY-MM-DD": spend}); `previous` is the level in force,
    set in `previous_month` (a level from another month does not hold the new one up)."""
    month = month_of(as_of)
    this_month = {d: Decimal(v) for d, v in days.items() if d.startswith(month) and d <= as_of.date().isoformat()}
    mtd = sum(this_month.values(), Decimal(0))
    elapsed = Decimal((as_of - month_start(as_of)).total_seconds()) / Decimal(86400)
    remaining = max(Decimal(days_in_month(as_of)) - elapsed, Decimal(0))
    complete = _complete_days(this_month, as_of)
    recent = complete[-policy.forecast_days:]
    rate = Decimal(statistics.median(recent)) if recent else mtd / max(elapsed, Decimal(1))
    forecast = mtd + rate * remaining
    last_day = complete[-1] if complete else Decimal(0)
    material = mtd + last_day * remaining > policy.yellow * policy.limit
    sustained = _rising(complete, policy) and material

    def level_at(margin: Decimal, rise: bool) -> tuple[str, list[str]]:
        slack = margin * policy.limit
        if mtd > policy.limit - slack:
            return "RED", [f"month-to-date {_usd(mtd)} above the budget of {_usd(policy.limit)}"]
        if mtd > policy.orange * policy.limit - slack or rise:
            return "ORANGE", ([f"month-to-date {_usd(mtd)} above {policy.orange:.0%} of {_usd(policy.limit)}"]
                              if mtd > policy.orange * policy.limit - slack else
                              [f"sustained rise: daily spend up {policy.rise_days} days running, to {_usd(last_day)}"])
        if forecast > policy.yellow * policy.limit - slack:
            return "YELLOW", [f"month-end forecast {_usd(forecast)} above {policy.yellow:.0%} of {_usd(policy.limit)}"]
        return "GREEN", []

    level, reasons = level_at(Decimal(0), sustained)
    if previous_month != month or previous not in LEVELS:
        previous = "GREEN"
    if rank(level) < rank(previous):
        held_rise = sustained or (rank(previous) >= rank("ORANGE") and _still_rising(complete, policy) and material)
        relaxed, relaxed_reasons = level_at(policy.hysteresis, held_rise)
        if rank(relaxed) > rank(level):
            level = LEVELS[min(rank(previous), rank(relaxed))]
            reasons = [f"held at {level} until the value falls {policy.hysteresis:.0%} of the budget below its threshold",
                       *relaxed_reasons]
    return Assessment(level, month, mtd.quantize(Decimal("0.000001")), forecast.quantize(Decimal("0.000001")),
                      sustained, tuple(reasons))


def aligned(moment: datetime, period_seconds: int) -> datetime:
    """`moment` rounded down to a multiple of `period_seconds` since the epoch (metering windows)."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=timezone.utc)


def day_slices(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at midnights (UTC): each slice's usage belongs to one day, one month."""
    slices, cursor = [], start
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
        slices.append((cursor, min(midnight, end)))
        cursor = slices[-1][1]
    return slices
