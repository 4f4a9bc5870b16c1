"""The report pages and PDFs read in a fixed, small number of queries, however long a client's history.

A PDF also writes its audit events (two statements each), so the limit is a little above the workspace's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tests.counsellor.conftest import TODAY, World, phq9, who5

MAX_QUERIES = 25
ANSWERS = {"who5": who5(2, 3, 2, 3, 2), "phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)}


def _counts(world: World, query_count: Callable[[], Any], paths: list[str]) -> list[int]:
    counts = []
    for path in paths:
        with query_count() as counted:
            response = world.browser.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts.append(int(counted[0]))
    return counts


def test_a_clients_report_pages_need_the_same_queries_for_one_session_and_for_seven(
    workspace: World,
    query_count: Callable[[], Any],
) -> None:
    client = workspace.client_of(workspace.counsellor, intake=TODAY - dt.timedelta(days=200))
    first = workspace.submit(client, workspace.t0, ANSWERS)
    workspace.sign_in(workspace.counsellor)
    paths = [
        f"/reports/clients/{client.code}",
        f"/reports/clients/{client.code}/client",
        f"/reports/clients/{client.code}/counsellor.pdf",
        f"/reports/clients/{client.code}/client.pdf",
        f"/reports/clients/{client.code}/sessions/{first.public_id}/record.pdf",
    ]
    short = _counts(workspace, query_count, paths)
    for days in range(1, 7):
        when = dt.datetime.combine(TODAY - dt.timedelta(days=days * 20), dt.time(9), dt.UTC)
        workspace.submit(client, None, ANSWERS, when=when)
    long = _counts(workspace, query_count, paths)
    assert all(more <= fewer for more, fewer in zip(long, short, strict=True)), (short, long)
    assert max(long) <= MAX_QUERIES
