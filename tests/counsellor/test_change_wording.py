"""How a reliable change is worded depends on where it began and ended against the scale's cut-off."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.counsellor.conftest import TODAY, World, who5
from tests.counsellor.test_client_page import at, page_of, section

#: WHO-5 answers giving a percentage score (raw sum times 4); the healthy range is 52 and above.
WHO5_AT = {
    20: who5(1, 1, 1, 1, 1),
    40: who5(2, 2, 2, 2, 2),
    48: who5(3, 3, 2, 2, 2),
    56: who5(3, 3, 3, 3, 2),
    64: who5(4, 3, 3, 3, 3),
    84: who5(5, 4, 4, 4, 4),
}


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (56, 84, "Reliable improvement, already in the healthy range at the start (RCI 2.33)."),
        (40, 64, "Reliable improvement into the healthy range: recovered (RCI 2.00)."),
        (20, 48, "Reliable improvement, not yet into the healthy range (RCI 2.33)."),
        (84, 56, "Reliable deterioration, still in the healthy range (RCI -2.33)."),
        (64, 40, "Reliable deterioration out of the healthy range (RCI -2.00)."),
        (48, 20, "Reliable deterioration (RCI -2.33)."),
    ],
)
def test_the_counsellor_reads_where_a_reliable_change_began_and_ended(
    workspace: World, before: int, after: int, words: str
) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, {"who5": WHO5_AT[before]}, when=at(1, intake))
    workspace.submit(client, workspace.t3m, {"who5": WHO5_AT[after]}, when=at(92, intake))
    workspace.sign_in(workspace.counsellor)
    scores = section(page_of(workspace, client.code), "scores")
    assert words in scores
    if before >= 52:
        assert "not yet into the healthy range" not in scores
