"""A client's schedule: the state of each timepoint, from anchor dates, offsets, windows and sessions.

Pure functions; nothing here reads the clock, the web or the database. A timepoint is due `offset_days` after
its anchor date (intake by default, or a court milestone such as the referral or hearing date), with a window
from `target - window_before_days` to `target + window_after_days`, both ends included.

States, for a given day:

- ``completed``: a submitted session exists at the timepoint. Its dates are those of the anchor as it was when
  the session was submitted, so moving an anchor later never moves a completed timepoint.
- ``open``: a session was started and not yet submitted.

A timepoint with a session keeps the offset and window the session was due on (recorded when it started), so
an admin's later change of the timepoint moves only the timepoints still without a session.
- ``unscheduled``: the timepoint counts from an anchor the client has no date for (yet).
- ``missed``: the window has closed without a session.
- ``on_hold`` (client paused) / ``closed`` (client withdrawn or finished the programme): not expected now.
- ``upcoming``: the window has not opened yet.
- ``due``: the window is open and the target date has not passed.
- ``overdue``: the target date has passed and the window is still open.

Every state other than completed and open is *pending*: pending timepoints follow the anchor when it moves.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

#: How many days ahead "due this week" looks (today included).
WEEK = 7
#: The earliest intake or anchor date a counsellor may enter.
EARLIEST_DATE = dt.date(2000, 1, 1)
#: How many days after today an intake or anchor date may lie (a hearing is rarely set further ahead).
LATEST_DAYS_AHEAD = 366


class TimepointState(enum.StrEnum):
    """Where a timepoint stands for a client on a given day."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    OPEN = "open"
    COMPLETED = "completed"
    MISSED = "missed"
    UNSCHEDULED = "unscheduled"
    ON_HOLD = "on_hold"
    CLOSED = "closed"

    @property
    def is_pending(self) -> bool:
        """True while no session holds the timepoint (its dates follow the anchor)."""
        return self not in (TimepointState.COMPLETED, TimepointState.OPEN)

    @property
    def needs_action(self) -> bool:
        """True when a counsellor can collect the timepoint now."""
        return self in (TimepointState.DUE, TimepointState.OVERDUE, TimepointState.OPEN)


def accepted_dates(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last intake or anchor date a counsellor may enter on `today` (both included)."""
    return EARLIEST_DATE, today + dt.timedelta(days=LATEST_DAYS_AHEAD)


def shifted(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days` days, stopping at the calendar's first or last day instead of overflowing."""
    ordinal = min(max(day.toordinal() + days, dt.date.min.toordinal()), dt.date.max.toordinal())
    return dt.date.fromordinal(ordinal)


@dataclass(frozen=True, slots=True)
class Timing:
    """When a timepoint falls: the anchor it counts from, its offset and its window (in days)."""

    anchor: str
    offset_days: int
    window_before_days: int
    window_after_days: int


@dataclass(frozen=True, slots=True)
class TimepointPlan:
    """A programme timepoint: when it falls relative to its anchor."""

    id: int
    key: str
    label: str
    position: int
    anchor: str
    offset_days: int
    window_before_days: int
    window_after_days: int
    #: The label in every language the programme gives (``label`` is the English one).
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def label_in(self, language: str) -> str:
        """The label in ``language``, else in English."""
        return self.labels.get(language) or self.labels.get("en") or self.label

    def window_for(self, anchor_date: dt.date) -> tuple[dt.date, dt.date, dt.date]:
        """(window start, target, window end) for an anchor date."""
        target = shifted(anchor_date, self.offset_days)
        return shifted(target, -self.window_before_days), target, shifted(target, self.window_after_days)

    @property
    def timing(self) -> Timing:
        """The anchor, offset and window of the timepoint as defined now."""
        return Timing(self.anchor, self.offset_days, self.window_before_days, self.window_after_days)

    def timed(self, timing: Timing) -> TimepointPlan:
        """The same timepoint with another anchor, offset and window (those a session was due on)."""
        return replace(
            self,
            anchor=timing.anchor,
            offset_days=timing.offset_days,
            window_before_days=timing.window_before_days,
            window_after_days=timing.window_after_days,
        )

    def anchor_range(self, first_day: dt.date, last_day: dt.date) -> tuple[dt.date, dt.date]:
        """The anchor dates whose window overlaps the days `first_day`..`last_day` (both included)."""
        earliest = first_day - dt.timedelta(days=self.offset_days + self.window_after_days)
        latest = last_day - dt.timedelta(days=self.offset_days - self.window_before_days)
        return earliest, latest


@dataclass(frozen=True, slots=True)
class SessionFact:
    """A live (open or submitted) session at a timepoint; cancelled sessions are left out by the caller.

    ``due_on``: the timing of the timepoint when the session started (None: not recorded, the current one).
    """

    timepoint_id: int | None
    status: str
    started_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None
    due_on: Timing | None = None

    @property
    def is_submitted(self) -> bool:
        """True once the client has submitted the session."""
        return self.status == "submitted"


@dataclass(frozen=True, slots=True)
class AnchorChange:
    """An anchor date that was changed at `changed_at`; `previous_date` None means it had no date before."""

    anchor: str
    previous_date: dt.date | None
    changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ScheduledTimepoint:
    """One timepoint of one client: its state and dates."""

    timepoint: TimepointPlan
    state: TimepointState
    target: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    session: SessionFact | None = None

    def due_within(self, today: dt.date, days: int = WEEK) -> bool:
        """True when the timepoint is due now or its window opens within `days` days."""
        if self.state is TimepointState.DUE:
            return True
        return (
            self.state is TimepointState.UPCOMING
            and self.window_start is not None
            and self.window_start <= today + dt.timedelta(days=days - 1)
        )

    def days_left(self, today: dt.date) -> int | None:
        """Days until the window closes (0 on its last day); None without a window."""
        return None if self.window_end is None else (self.window_end - today).days


def anchor_dates_at(
    current: Mapping[str, dt.date], changes: Iterable[AnchorChange], moment: dt.datetime
) -> dict[str, dt.date]:
    """The anchor dates as they were at `moment`: changes made after it are undone, newest first."""
    dates = dict(current)
    for change in sorted(changes, key=lambda change: change.changed_at, reverse=True):
        if change.changed_at <= moment:
            break
        if change.previous_date is None:
            dates.pop(change.anchor, None)
        else:
            dates[change.anchor] = change.previous_date
    return dates


def as_due(timepoint: TimepointPlan, session: SessionFact | None) -> TimepointPlan:
    """The timepoint as the session at it was due on; as defined now when it has no session (yet)."""
    if session is None or session.due_on is None:
        return timepoint
    return timepoint.timed(session.due_on)


def _pending_state(
    window: tuple[dt.date, dt.date, dt.date], today: dt.date, client_status: str
) -> TimepointState:
    start, target, end = window
    if today > end:
        return TimepointState.MISSED
    if client_status == "paused":
        return TimepointState.ON_HOLD
    if client_status in ("withdrawn", "completed"):
        return TimepointState.CLOSED
    if today < start:
        return TimepointState.UPCOMING
    return TimepointState.DUE if today <= target else TimepointState.OVERDUE


def schedule_timepoint(
    timepoint: TimepointPlan,
    anchors: Mapping[str, dt.date],
    session: SessionFact | None,
    today: dt.date,
    *,
    client_status: str = "active",
    anchor_changes: Sequence[AnchorChange] = (),
) -> ScheduledTimepoint:
    """The state and dates of one timepoint for one client on `today`."""
    timepoint = as_due(timepoint, session)
    if session is not None and session.is_submitted and session.submitted_at is not None:
        anchors = anchor_dates_at(anchors, anchor_changes, session.submitted_at)
    anchor_date = anchors.get(timepoint.anchor)
    if anchor_date is None:
        state = TimepointState.UNSCHEDULED
        if session is not None:
            state = TimepointState.COMPLETED if session.is_submitted else TimepointState.OPEN
        return ScheduledTimepoint(timepoint, state, None, None, None, session)
    window = timepoint.window_for(anchor_date)
    if session is not None:
        state = TimepointState.COMPLETED if session.is_submitted else TimepointState.OPEN
    else:
        state = _pending_state(window, today, client_status)
    start, target, end = window
    return ScheduledTimepoint(timepoint, state, target, start, end, session)


def client_schedule(
    timepoints: Iterable[TimepointPlan],
    anchors: Mapping[str, dt.date],
    sessions: Iterable[SessionFact],
    today: dt.date,
    *,
    client_status: str = "active",
    anchor_changes: Sequence[AnchorChange] = (),
) -> tuple[ScheduledTimepoint, ...]:
    """Every timepoint of a client's programme, in programme order, with its state on `today`."""
    by_timepoint: dict[int, SessionFact] = {}
    for session in sessions:
        if session.timepoint_id is None or session.status not in ("open", "submitted"):
            continue
        known = by_timepoint.get(session.timepoint_id)
        if known is None or (session.is_submitted and not known.is_submitted):
            by_timepoint[session.timepoint_id] = session
    return tuple(
        schedule_timepoint(
            timepoint,
            anchors,
            by_timepoint.get(timepoint.id),
            today,
            client_status=client_status,
            anchor_changes=anchor_changes,
        )
        for timepoint in sorted(timepoints, key=lambda timepoint: timepoint.position)
    )


def next_action(schedule: Sequence[ScheduledTimepoint]) -> ScheduledTimepoint | None:
    """The timepoint a counsellor should look at next: started, overdue, due, then the first upcoming."""
    for states in (
        (TimepointState.OPEN,),
        (TimepointState.OVERDUE,),
        (TimepointState.DUE,),
        (TimepointState.UPCOMING, TimepointState.UNSCHEDULED, TimepointState.ON_HOLD),
    ):
        found = [entry for entry in schedule if entry.state in states]
        if found:
            return found[0]
    return None
