"""The submit's payload hash never changes between releases: a tablet that retries a submit after an upgrade
must still be answered with the first result, not refused as a reused key."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from survey_app.services.responses import AnswerInput, payload_hash


def _answer(key: str, version: int, item_id: str, value: Any) -> AnswerInput:
    return AnswerInput(SimpleNamespace(key=key, version=version), item_id, value)  # type: ignore[arg-type]


ANSWERS = [
    _answer("who5", 10, "q2", 3),
    _answer("who5", 9, "q1", [1, 2]),
    _answer("phq9", 1, "q10", "Ja, één keer"),
    _answer("who5", 10, "q1", None),
    _answer("phq9", 1, "q9", True),
]

#: The hash the first release stored for ANSWERS (answers ordered by their [key, version, item] as JSON text).
STORED_BY_EARLIER_RELEASES = "643c5a026811c0ca4b6ebb99c0955fc76a8bde411e56083a16fa35539607ebae"


def test_the_hash_of_a_submit_is_the_one_earlier_releases_stored() -> None:
    assert payload_hash(ANSWERS) == STORED_BY_EARLIER_RELEASES


def test_the_order_the_answers_arrive_in_does_not_change_the_hash() -> None:
    assert payload_hash(list(reversed(ANSWERS))) == STORED_BY_EARLIER_RELEASES
    assert payload_hash(ANSWERS[:4]) != STORED_BY_EARLIER_RELEASES
