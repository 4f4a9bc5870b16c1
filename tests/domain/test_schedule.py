"""A client's schedule: timepoint states from anchors, windows and sessions; anchors that move."""

from __future__ import annotations

import datetime as dt

import pytest

from survey_app.domain.schedule import (
    AnchorChange,
    ScheduledTimepoint,
    SessionFact,
    TimepointPlan,
    TimepointState,
    Timing,
    anchor_dates_at,
    client_schedule,
    next_action,
    schedule_timepoint,
)

INTAKE = dt.date(2026, 1, 5)
T0 = TimepointPlan(1, "t0", "Intake", 0, "intake", 0, 0, 21)
T3M = TimepointPlan(2, "t3m", "3 months", 1, "intake", 91, 14, 14)
T6M = TimepointPlan(3, "t6m", "6 months", 2, "intake", 182, 14, 14)
HEARING = TimepointPlan(4, "h1m", "1 month after the hearing", 3, "hearing", 30, 7, 7)
PLAN = (T0, T3M, T6M)


def moment(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def submitted(timepoint: TimepointPlan, day: dt.date) -> SessionFact:
    return SessionFact(timepoint.id, "submitted", moment(day), moment(day, 11))


def state_on(day: dt.date, timepoint: TimepointPlan = T3M, **kwargs: object) -> TimepointState:
    return schedule_timepoint(timepoint, {"intake": INTAKE}, None, day, **kwargs).state  # type: ignore[arg-type]


def test_the_window_runs_from_target_minus_before_to_target_plus_after() -> None:
    entry = schedule_timepoint(T3M, {"intake": INTAKE}, None, INTAKE)
    assert entry.target == dt.date(2026, 4, 6)
    assert (entry.window_start, entry.window_end) == (dt.date(2026, 3, 23), dt.date(2026, 4, 20))


@pytest.mark.parametrize(
    ("day", "state"),
    [
        (dt.date(2026, 3, 22), TimepointState.UPCOMING),  # the day before the window opens
        (dt.date(2026, 3, 23), TimepointState.DUE),  # the window opens
        (dt.date(2026, 4, 6), TimepointState.DUE),  # the target date itself
        (dt.date(2026, 4, 7), TimepointState.OVERDUE),  # past the target, window still open
        (dt.date(2026, 4, 20), TimepointState.OVERDUE),  # the last day of the window
        (dt.date(2026, 4, 21), TimepointState.MISSED),  # the window has closed
    ],
)
def test_a_pending_timepoint_moves_through_its_states_day_by_day(day: dt.date, state: TimepointState) -> None:
    assert state_on(day) is state


def test_sessions_decide_completed_and_open_whatever_the_day() -> None:
    late = dt.date(2026, 6, 1)
    done = schedule_timepoint(T3M, {"intake": INTAKE}, submitted(T3M, dt.date(2026, 4, 8)), late)
    started = schedule_timepoint(
        T3M, {"intake": INTAKE}, SessionFact(T3M.id, "open", moment(dt.date(2026, 4, 8))), late
    )
    assert done.state is TimepointState.COMPLETED and not done.state.is_pending
    assert started.state is TimepointState.OPEN and started.state.needs_action


def test_paused_and_departed_clients_have_nothing_due_but_missed_stays_missed() -> None:
    in_window = dt.date(2026, 4, 1)
    assert state_on(in_window, client_status="paused") is TimepointState.ON_HOLD
    assert state_on(in_window, client_status="withdrawn") is TimepointState.CLOSED
    assert state_on(in_window, client_status="completed") is TimepointState.CLOSED
    assert state_on(dt.date(2026, 5, 1), client_status="paused") is TimepointState.MISSED


def test_a_timepoint_on_a_milestone_the_client_lacks_is_unscheduled() -> None:
    entry = schedule_timepoint(HEARING, {"intake": INTAKE}, None, INTAKE)
    assert entry.state is TimepointState.UNSCHEDULED and entry.target is None
    with_date = schedule_timepoint(HEARING, {"intake": INTAKE, "hearing": dt.date(2026, 2, 1)}, None, INTAKE)
    assert with_date.target == dt.date(2026, 3, 3) and with_date.state is TimepointState.UPCOMING


def test_moving_the_anchor_moves_pending_timepoints_but_not_completed_ones() -> None:
    moved_on = moment(dt.date(2026, 5, 1))
    new_intake = INTAKE + dt.timedelta(days=30)
    changes = [AnchorChange("intake", INTAKE, moved_on)]
    sessions = [submitted(T0, INTAKE)]
    schedule = client_schedule(
        PLAN, {"intake": new_intake}, sessions, dt.date(2026, 5, 2), anchor_changes=changes
    )
    intake, three, six = schedule
    assert intake.state is TimepointState.COMPLETED and intake.target == INTAKE  # kept its date
    assert three.target == dt.date(2026, 5, 6) and three.state is TimepointState.DUE  # moved with the anchor
    assert six.target == new_intake + dt.timedelta(days=182)


def test_a_session_submitted_after_the_move_is_dated_by_the_new_anchor() -> None:
    new_intake = INTAKE + dt.timedelta(days=30)
    changes = [AnchorChange("intake", INTAKE, moment(dt.date(2026, 1, 10)))]
    entry = schedule_timepoint(
        T0, {"intake": new_intake}, submitted(T0, new_intake), new_intake, anchor_changes=changes
    )
    assert entry.target == new_intake


def test_anchor_dates_at_undoes_later_changes_newest_first() -> None:
    first, second = moment(dt.date(2026, 2, 1)), moment(dt.date(2026, 3, 1))
    changes = [
        AnchorChange("hearing", None, first),  # set for the first time
        AnchorChange("hearing", dt.date(2026, 1, 20), second),  # then moved
    ]
    current = {"intake": INTAKE, "hearing": dt.date(2026, 2, 20)}
    assert anchor_dates_at(current, changes, moment(dt.date(2026, 3, 5)))["hearing"] == dt.date(2026, 2, 20)
    assert anchor_dates_at(current, changes, moment(dt.date(2026, 2, 15)))["hearing"] == dt.date(2026, 1, 20)
    assert "hearing" not in anchor_dates_at(current, changes, moment(dt.date(2026, 1, 15)))


def test_cancelled_sessions_count_for_nothing_and_submitted_wins_over_open() -> None:
    sessions = [
        SessionFact(T0.id, "cancelled", moment(INTAKE)),
        SessionFact(T3M.id, "open", moment(dt.date(2026, 4, 1))),
        submitted(T3M, dt.date(2026, 4, 2)),
    ]
    intake, three, _ = client_schedule(PLAN, {"intake": INTAKE}, sessions, dt.date(2026, 4, 3))
    assert intake.state is TimepointState.MISSED
    assert three.state is TimepointState.COMPLETED


def test_due_within_a_week_covers_due_and_windows_opening_this_week() -> None:
    today = dt.date(2026, 3, 17)  # the 3-month window opens on 23 March
    entry = schedule_timepoint(T3M, {"intake": INTAKE}, None, today)
    assert entry.state is TimepointState.UPCOMING and entry.due_within(today)
    assert not entry.due_within(today, days=6)
    assert entry.days_left(today) == 34


def test_next_action_prefers_started_then_overdue_then_due_then_upcoming() -> None:
    schedule = client_schedule(PLAN, {"intake": INTAKE}, [submitted(T0, INTAKE)], dt.date(2026, 4, 10))
    step = next_action(schedule)
    assert (
        isinstance(step, ScheduledTimepoint)
        and step.timepoint is T3M
        and step.state is TimepointState.OVERDUE
    )
    assert next_action(()) is None


@pytest.mark.parametrize("timepoint", [T0, T3M, T6M, HEARING])
def test_anchor_range_finds_exactly_the_anchors_whose_window_meets_the_days(timepoint: TimepointPlan) -> None:
    first, last = dt.date(2026, 6, 1), dt.date(2026, 6, 7)
    earliest, latest = timepoint.anchor_range(first, last)
    for offset in range(-400, 60):
        anchor = first + dt.timedelta(days=offset)
        start, _, end = timepoint.window_for(anchor)
        overlaps = start <= last and end >= first
        assert overlaps == (earliest <= anchor <= latest), (timepoint.key, anchor)


def test_a_window_near_the_ends_of_the_calendar_stops_at_the_first_or_last_day() -> None:
    assert T3M.window_for(dt.date.max) == (dt.date.max - dt.timedelta(days=14), dt.date.max, dt.date.max)
    backwards = TimepointPlan(5, "before", "Before", 4, "hearing", -30, 7, 7)
    assert backwards.window_for(dt.date.min) == (dt.date.min, dt.date.min, dt.date.min + dt.timedelta(days=7))
    assert schedule_timepoint(T3M, {"intake": dt.date.max}, None, INTAKE).state is TimepointState.UPCOMING


def test_a_timepoint_with_a_session_keeps_the_offset_and_window_it_was_due_on() -> None:
    moved = TimepointPlan(2, "t3m", "3 months", 1, "intake", 100, 0, 7)  # was 91 days, 14 either side
    due_on = Timing("intake", 91, 14, 14)
    done = SessionFact(moved.id, "submitted", moment(INTAKE), moment(dt.date(2026, 4, 7)), due_on)
    started = SessionFact(moved.id, "open", moment(dt.date(2026, 4, 7)), due_on=due_on)
    late = dt.date(2026, 6, 1)
    for session in (done, started):
        entry = schedule_timepoint(moved, {"intake": INTAKE}, session, late)
        assert (entry.window_start, entry.target, entry.window_end) == (
            dt.date(2026, 3, 23),
            dt.date(2026, 4, 6),
            dt.date(2026, 4, 20),
        )
        assert entry.timepoint.offset_days == 91
    pending = schedule_timepoint(moved, {"intake": INTAKE}, None, late)
    assert (pending.target, pending.window_end) == (dt.date(2026, 4, 15), dt.date(2026, 4, 22))
