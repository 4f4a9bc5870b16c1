"""Export packages (the zips of web exports): how long they are kept, and when they must go sooner.

A package can be downloaded for `PACKAGE_KEEP_DAYS` days (app config `RESEARCH_PACKAGE_DAYS`) after its
export finished. It goes at once when an admin withdraws an allowance it was made with (identifiers, free
text or calendar dates), and when a client it holds is erased: then it goes if it was made with identifiers,
or if the client's research data is not kept. A finished run records the clients it holds
(`ExportRunClient`); a package still being made, or made before runs recorded their clients, may hold
anyone of its organisation and is treated so. A removed run keeps its row, marked with the reason
(`removed_reason`), so its page can say why the package is gone; each removal is audited
(`research.package_removed`). The files themselves are deleted by `delete_removed_files`, after the removal
is committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import ColumnElement, select

from survey_app.db import DbSession
from survey_app.models.base import utcnow
from survey_app.models.research import ExportProject, ExportRun, ExportRunClient
from survey_app.services.audit import record_event

PACKAGE_KEEP_DAYS = 7
PACKAGE_FOLDER = "research_exports"
ALLOWANCES = ("identifiers", "free_text", "calendar_dates")
#: Why a package was removed: its time ran out, an allowance it was made with was withdrawn, a client erased.
REMOVAL_REASONS = ("expired", "allowance_withdrawn", "client_erased")
_REMOVED = "package_removed"


def package_folder(instance_path: Path) -> Path:
    """Where finished export packages are kept (inside the instance folder, mode 0700)."""
    folder = instance_path / PACKAGE_FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def allowances_of(project: ExportProject) -> dict[str, bool]:
    """The project's allowances, as a run records the ones it was made with."""
    return {
        "identifiers": project.allow_identifiers,
        "free_text": project.allow_free_text,
        "calendar_dates": project.allow_calendar_dates,
    }


def removed_reason(run: ExportRun) -> str | None:
    """Why the run's package was removed (one of REMOVAL_REASONS), or None if it was not."""
    reason = run.options.get(_REMOVED)
    return str(reason) if reason else None


def _made_with(run: ExportRun, allowance: str) -> bool:
    # A run from before runs recorded their allowances may hold anything.
    return bool(run.options.get("allowances", {}).get(allowance, True))


def remove_package(session: DbSession, run: ExportRun, reason: str, *, actor_id: int | None) -> None:
    """Mark the run's package removed for `reason`, audited; `delete_removed_files` deletes the zip."""
    run.options = {**run.options, _REMOVED: reason}
    session.flush()
    record_event(
        session,
        "research.package_removed",
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        object_type="export_run",
        object_id=run.id,
        details={"project_id": run.project_id, "run": run.public_id, "reason": reason},
    )


def _packages(session: DbSession, *conditions: ColumnElement[bool]) -> list[ExportRun]:
    # A running export is included: the package it is making must not outlive the withdrawal either.
    runs = session.scalars(
        select(ExportRun)
        .where(ExportRun.status.in_(("running", "done")), ExportRun.via == "web", *conditions)
        .order_by(ExportRun.id)
    ).all()
    return [run for run in runs if removed_reason(run) is None]


def expired(run: ExportRun, keep_days: int, now: dt.datetime | None = None) -> bool:
    """Whether the run's package is past its keeping time."""
    finished = run.finished_at or run.started_at
    return (now or utcnow()) - finished > dt.timedelta(days=keep_days)


def package_gone(session: DbSession, run: ExportRun, keep_days: int) -> str | None:
    """Why the run's package cannot be downloaded any more (removing it now if its time ran out), or None."""
    if run.status == "done" and removed_reason(run) is None and expired(run, keep_days):
        remove_package(session, run, "expired", actor_id=None)
    return removed_reason(run)


def expire_packages(session: DbSession, keep_days: int, now: dt.datetime | None = None) -> int:
    """Remove every package past its keeping time; returns how many."""
    due = [run for run in _packages(session, ExportRun.status == "done") if expired(run, keep_days, now)]
    for run in due:
        remove_package(session, run, "expired", actor_id=None)
    return len(due)


def withdraw_after_allowance_change(
    session: DbSession, project: ExportProject, withdrawn: Iterable[str], *, actor_id: int | None
) -> int:
    """Remove the project's packages made with an allowance that has just been withdrawn; returns how many."""
    names = set(withdrawn)
    if not names:
        return 0
    runs = _packages(session, ExportRun.project_id == project.id)
    due = [run for run in runs if any(_made_with(run, name) for name in names)]
    for run in due:
        remove_package(session, run, "allowance_withdrawn", actor_id=actor_id)
    return len(due)


def withdraw_after_erasure(
    session: DbSession,
    organisation_id: int,
    client_id: int,
    *,
    research_data_kept: bool,
    actor_id: int | None,
) -> int:
    """Remove the packages the client being erased is in (call it before the client's rows go): those made
    with identifiers, or all of them if the client's research data is not kept; returns how many."""
    projects = select(ExportProject.id).where(ExportProject.organisation_id == organisation_id)
    runs = _packages(session, ExportRun.project_id.in_(projects))
    holding = set(
        session.scalars(select(ExportRunClient.run_id).where(ExportRunClient.client_id == client_id))
    )
    due = [
        run
        for run in runs
        if (run.id in holding or not run.clients_recorded)
        and (not research_data_kept or _made_with(run, "identifiers"))
    ]
    for run in due:
        remove_package(session, run, "client_erased", actor_id=actor_id)
    return len(due)


def delete_removed_files(session: DbSession, folder: Path) -> int:
    """Delete the zips in `folder` whose package has been removed; returns how many."""
    zips = {path.stem[:36]: path for path in sorted(folder.glob("*.zip"))}
    if not zips:
        return 0
    runs = session.scalars(select(ExportRun).where(ExportRun.public_id.in_(zips))).all()
    removed = [zips[run.public_id] for run in runs if removed_reason(run) is not None]
    for path in removed:
        path.unlink(missing_ok=True)
    return len(removed)
