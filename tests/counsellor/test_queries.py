"""Pages read in a fixed, small number of queries: at most 20, and not growing with the caseload."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tests.counsellor.conftest import TODAY, World, phq9, who5

MAX_QUERIES = 20
RISKY = {"who5": who5(1, 1, 1, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 2)}
CALM = {"who5": who5(3, 3, 3, 3, 3), "phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)}


def caseload(world: World, size: int) -> list[Any]:
    """`size` clients of the counsellor at different stages, each with sessions and alerts."""
    clients = []
    for number in range(size):
        intake = TODAY - dt.timedelta(days=10 + 17 * number)
        client = world.client_of(world.counsellor, intake=intake)
        world.submit(client, world.t0, RISKY, when=dt.datetime.combine(intake, dt.time(10), dt.UTC))
        if number % 2:
            world.submit(client, None, CALM)  # an extra session
        clients.append(client)
    return clients


def count_get(world: World, query_count: Callable[[], Any], path: str) -> int:
    """Statements of one request, after a first one has filled the once-per-process caches."""
    world.browser.get(path)
    with query_count() as counted:
        response = world.browser.get(path)
    assert response.status_code == 200, path
    return int(counted[0])


def test_the_dashboard_needs_the_same_few_queries_for_a_small_and_a_large_caseload(
    workspace: World, query_count: Callable[[], Any]
) -> None:
    caseload(workspace, 3)
    workspace.sign_in(workspace.counsellor)
    small = count_get(workspace, query_count, "/")
    caseload(workspace, 25)
    large = count_get(workspace, query_count, "/")
    assert large == small and large <= MAX_QUERIES
    workspace.sign_in(workspace.lead)
    assert count_get(workspace, query_count, "/") <= MAX_QUERIES
    assert count_get(workspace, query_count, "/?status=all&needs=overdue&page=2") <= MAX_QUERIES


def test_a_client_page_needs_at_most_twenty_queries_however_long_the_history(
    workspace: World, query_count: Callable[[], Any]
) -> None:
    client = caseload(workspace, 1)[0]
    workspace.sign_in(workspace.counsellor)
    short = count_get(workspace, query_count, f"/counsellor/clients/{client.code}")
    for days in range(1, 8):
        workspace.submit(
            client, None, RISKY, when=dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(9), dt.UTC)
        )
    long = count_get(workspace, query_count, f"/counsellor/clients/{client.code}")
    assert long == short and long <= MAX_QUERIES


def test_the_answers_page_needs_few_queries(workspace: World, query_count: Callable[[], Any]) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, RISKY)
    workspace.sign_in(workspace.counsellor)
    assert (
        count_get(workspace, query_count, f"/counsellor/clients/{client.code}/sessions/{session.public_id}")
        <= 15
    )
