"""Bad input gives a correct, readable PDF or a clear message, never a crash: no data at all, right-to-left
and accented names, very long notes."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from survey_app.models import ClientIdentity, SessionNote
from survey_app.models.workspace import NOTE_MAX_LENGTH
from survey_app.services.reports import ReportError, find_session
from tests.reports.conftest import Followed, make_pdf, pdf_pages, pdf_text

NAMES = [("محمد", "العربي"), ("שרה", "לוי"), ("Zażółć", "Gęślą-Jaźń"), ("Çağrı", "Şahinİğdır")]  # noqa: RUF001


@pytest.mark.parametrize("kind", ["counsellor", "client"])
def test_a_client_without_any_data(app: Flask, followed: Followed, kind: str) -> None:
    world = followed.world
    empty = world.client_of(world.counsellor)
    data = make_pdf(app, empty.id, kind)
    text = pdf_text(data)
    assert empty.code in text
    if kind == "counsellor":
        assert 1 <= len(pdf_pages(data)) <= 2
        assert "No scores yet" in text and "Missing data" in text
    else:
        assert "You have not filled in any questionnaires yet" in text


def test_a_record_without_a_session_is_a_clear_message(followed: Followed, db: SQLAlchemy) -> None:
    world = followed.world
    empty = world.client_of(world.counsellor)
    with pytest.raises(ReportError, match="no sessions yet"):
        find_session(db.session, empty, None)
    with pytest.raises(ReportError, match="Choose the session"):
        find_session(db.session, followed.client, None)
    with pytest.raises(ReportError, match="has no session"):
        find_session(db.session, followed.client, "00000000-0000-4000-8000-000000000000")


@pytest.mark.parametrize(("given", "family"), NAMES)
def test_right_to_left_and_accented_names_are_printed_as_written(
    app: Flask, db: SQLAlchemy, followed: Followed, given: str, family: str
) -> None:
    db.session.add(ClientIdentity(client_id=followed.client.id, given_name=given, family_name=family))
    db.session.flush()
    pages = pdf_pages(make_pdf(app, followed.client.id, "client", show_names=True))
    for page in pages:
        assert given in page and family in page


def test_very_long_notes_wrap_and_stay_whole(app: Flask, db: SQLAlchemy, followed: Followed) -> None:
    unbroken = "x" * 600
    body = (("Spoke with the client about housing; " * 100) + unbroken)[:NOTE_MAX_LENGTH]
    db.session.add(
        SessionNote(session_id=followed.sessions[0].id, author_id=followed.world.counsellor.id, body=body)
    )
    db.session.flush()
    data = make_pdf(app, followed.client.id, "counsellor")
    chrome = "|".join(
        [
            rf"{followed.client.code} · Counsellor report",
            "Confidential: health data",
            r"Drug Treatment Court · Made .*?\d\d:\d\d",
            r"Page \d+ of \d+",
        ]
    )
    text = "".join(re.sub(chrome, "", " ".join(page.split())) for page in pdf_pages(data)).replace("•", "")
    assert "".join(body.split()) in "".join(
        text.split()
    )  # every character: wrapped over lines and pages, not cut
    assert len(pdf_pages(data)) <= 6
