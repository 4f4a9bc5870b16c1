"""Whether the database schema is the one the code expects: Alembic's recorded revision against the head.

The head is read from the migration scripts once per process (they only change with the code); the recorded
revision costs one small query per check. A database the migrations never ran on has no recorded revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from sqlalchemy.orm import Session

__all__ = ["SchemaState", "head_revisions", "schema_state"]

UPGRADE = "run `flask db upgrade`"


@dataclass(frozen=True)
class SchemaState:
    """``ok`` at the head, ``behind`` otherwise (with what to do about it in ``reason``)."""

    state: Literal["ok", "behind"]
    reason: str = ""


@cache
def head_revisions(directory: str) -> frozenset[str]:
    """The head revision(s) of the migration scripts in ``directory``, read once per process."""
    from alembic.script import ScriptDirectory  # imported on the first check, not with the app

    return frozenset(ScriptDirectory(directory).get_heads())


def _names(revisions: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(revisions))


def schema_state(session: Session, directory: str) -> SchemaState:
    """Compare the revision recorded in the database with the scripts' head."""
    from alembic.runtime.migration import MigrationContext

    heads = head_revisions(directory)
    current = frozenset(MigrationContext.configure(session.connection()).get_current_heads())
    if current == heads:
        return SchemaState("ok")
    if not current:
        return SchemaState(
            "behind", f"The database has no migrations applied; this code needs {_names(heads)}: {UPGRADE}."
        )
    return SchemaState(
        "behind",
        f"The database schema is at revision {_names(current)}, but this code needs {_names(heads)}: "
        f"{UPGRADE}.",
    )
