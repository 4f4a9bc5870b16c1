"""Days where the programme runs, as moments: the bounds of every date filter."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import pytz

from survey_app.services.caseload import local_day_start

BRUSSELS = "Europe/Brussels"


@pytest.mark.parametrize("zone", [ZoneInfo(BRUSSELS), pytz.timezone(BRUSSELS)], ids=["zoneinfo", "pytz"])
@pytest.mark.parametrize(
    ("day", "start"),
    [
        (dt.date(2025, 12, 1), dt.datetime(2025, 11, 30, 23, 0, tzinfo=dt.UTC)),  # winter: UTC+1
        (dt.date(2026, 7, 1), dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)),  # summer: UTC+2
        (dt.date(2026, 3, 29), dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)),  # clocks go forward at 02:00
        (dt.date(2026, 10, 25), dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)),  # clocks go back at 03:00
    ],
)
def test_a_day_begins_at_its_local_midnight(zone: dt.tzinfo, day: dt.date, start: dt.datetime) -> None:
    assert local_day_start(day, zone) == start


def test_the_calendar_s_first_day_is_a_bound_not_an_error() -> None:
    assert local_day_start(dt.date.min, ZoneInfo(BRUSSELS)) == dt.datetime.min.replace(tzinfo=dt.UTC)
