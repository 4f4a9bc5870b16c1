"""The research pages read in a fixed, small number of queries, however many projects, members and runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from survey_app.models import ExportProject, ExportProjectMember, ExportRun, StaffUser
from tests.exports.conftest import World
from tests.exports.test_research_pages import _sign_in

MAX_QUERIES = 12


def _count(client: FlaskClient, query_count: Callable[[], Any], path: str) -> int:
    with query_count() as counted:
        response = client.get(path)
    assert response.status_code == 200, path
    return int(counted[0])


def _grow(db: SQLAlchemy, world: World, make_staff: Callable[..., StaffUser], size: int) -> None:
    """`size` more projects of the researcher, members of the project and runs of it."""
    organisation_id = world.project.organisation_id
    for number in range(size):
        project = ExportProject(organisation_id=organisation_id, name=f"Study {number}")
        db.session.add(project)
        db.session.flush()
        db.session.add(ExportProjectMember(project_id=project.id, staff_user_id=world.researcher.id))
        colleague = make_staff("researcher", organisation=world.researcher.organisation)
        db.session.add(ExportProjectMember(project_id=world.project.id, staff_user_id=colleague.id))
        db.session.add(
            ExportRun(project_id=world.project.id, requested_by=colleague.id, via="web", layout="long",
                      format="csv", options={}, status="done", rows_total=10, rows_written=10)
        )  # fmt: skip
    db.session.flush()


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_the_project_list_and_a_project_page_need_the_same_queries_for_one_and_for_many(
    client: FlaskClient,
    db: SQLAlchemy,
    export_world: World,
    make_staff: Callable[..., StaffUser],
    query_count: Callable[[], Any],
    role: str,
) -> None:
    user = export_world.researcher
    if role == "admin":
        user = make_staff("admin", organisation=export_world.researcher.organisation)
    _sign_in(client, db, user)
    pages = ["/research/", f"/research/projects/{export_world.project.id}"]
    small = [_count(client, query_count, path) for path in pages]
    _grow(db, export_world, make_staff, 6)
    large = [_count(client, query_count, path) for path in pages]
    assert large == small and min(large) > 0 and max(large) <= MAX_QUERIES
