"""The counsellor's report: two to four A4 pages, the code and page numbers on every page, scores with bands,
charts, reliable change, flags and their handling, missing data and citations; names only when allowed."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from pypdf import PdfReader

from survey_app.models import AlertAcknowledgement, ClientIdentity, ScoreFlag
from survey_app.models.base import utcnow
from survey_app.services.questionnaires import questionnaire_of
from tests.counsellor.conftest import bank_version
from tests.counsellor.test_client_page import who5_v2
from tests.reports.conftest import (
    WHO5_WAVES,
    Followed,
    fullest_demo_battery,
    keep_first_page,
    make_pdf,
    pdf_pages,
    pdf_text,
)


def test_six_questionnaires_at_four_timepoints_on_two_to_four_pages_as_real_text(
    app: Flask, followed: Followed
) -> None:
    data = make_pdf(app, followed.client.id, "counsellor")
    pages = pdf_pages(data)
    assert 2 <= len(pages) <= 4, len(pages)
    for number, page in enumerate(pages, start=1):
        assert followed.client.code in page, f"the code is missing on page {number}"
        assert f"Page {number} of {len(pages)}" in " ".join(page.split())
    text = pdf_text(data)
    # WHO-5 percentage 24 -> 80: a reliable improvement into the healthy range; PHQ-9 16 -> 2 with its bands.
    assert re.search(r"Percentage score 24 40 60 80 .{0,3}recovered \(RCI \d", text)
    assert re.search(r"Total score 16 Moderately severe 12 Moderate 8 Mild 2 Minimal", text)
    headings = ("Well-being (WHO-5)", "Mood (PHQ-9)", "Recovery strengths (BARC-10)", "Intake", "12 months")
    for expected in (*headings, "Scores over time", "cut-off 52"):
        assert expected in text, expected
    assert "Bech P" in text and "Kroenke" in text  # each questionnaire's citation
    assert "Domain profile" in text and "Social life" in text and "Community life" in text
    assert "No consent to share with the court" in text
    keep_first_page(data, "counsellor")


def test_flags_show_how_they_were_handled(app: Flask, db: SQLAlchemy, followed: Followed) -> None:
    world = followed.world
    risky = world.submit(
        followed.client,
        None,
        {
            "phq9": {
                **dict.fromkeys(
                    (
                        "phq9_interest",
                        "phq9_down",
                        "phq9_sleep",
                        "phq9_tired",
                        "phq9_appetite",
                        "phq9_failure",
                        "phq9_concentration",
                        "phq9_psychomotor",
                    ),
                    1,
                ),
                "phq9_selfharm": 2,
            }
        },
        when=utcnow() - dt.timedelta(days=3),
    )
    flag = db.session.query(ScoreFlag).filter_by(session_id=risky.id).first()
    assert flag is not None
    flag.acknowledged_at, flag.acknowledged_by = utcnow(), world.counsellor.id
    db.session.add(
        AlertAcknowledgement(
            flag_id=flag.id,
            acknowledged_by=world.counsellor.id,
            note="Called the client the same day; safety plan agreed.",
        )
    )
    db.session.flush()
    text = pdf_text(make_pdf(app, followed.client.id, "counsellor"))
    assert "Urgent" in text and "Acknowledged" in text and "Casey Counsellor" in text
    assert "safety plan agreed" in text


def test_names_appear_only_when_allowed(app: Flask, db: SQLAlchemy, followed: Followed) -> None:
    db.session.add(ClientIdentity(client_id=followed.client.id, given_name="Sofie", family_name="Claeys"))
    db.session.flush()
    assert "Claeys" not in pdf_text(make_pdf(app, followed.client.id, "counsellor"))
    named = make_pdf(app, followed.client.id, "counsellor", show_names=True)
    assert all("Sofie Claeys" in " ".join(page.split()) for page in pdf_pages(named))


def test_the_report_is_in_the_language_asked_with_its_metadata(app: Flask, followed: Followed) -> None:
    data = make_pdf(app, followed.client.id, "counsellor", "fr")
    reader = PdfReader(io.BytesIO(data))
    assert reader.trailer["/Root"]["/Lang"] == "fr"
    assert reader.metadata is not None and followed.client.code in (reader.metadata.title or "")
    text = pdf_text(data)
    assert "Bien-être (WHO-5)" in text  # the stored version's French short title
    assert "Rapport pour l'intervenant" in text  # translated headings


def test_extra_sessions_and_a_version_break_are_marked(
    app: Flask, db: SQLAlchemy, followed: Followed
) -> None:
    world = followed.world
    changed = who5_v2(db, comparable=False)
    now = utcnow()
    for days in range(8, 0, -1):  # eight check-ins between the waves, the last on a new, incomparable WHO-5
        version = {"who5": changed} if days == 1 else None
        world.submit(
            followed.client,
            None,
            {"who5": WHO5_WAVES[2]},
            when=now - dt.timedelta(days=days),
            versions=version,
        )
    data = make_pdf(app, followed.client.id, "counsellor")
    text = pdf_text(data)
    assert "more extra sessions are shown in the charts only" in text
    assert "the questionnaire changed version before" in text
    assert "‡" in text and "version changed: not comparable" in text  # the table's mark and the chart's rule
    assert len(pdf_pages(data)) <= 4


PROJECT_RULE_NOTE = (
    "Estimated scores fill each missing item with the mean of the answered items of that scale: a rule of "
    "this project, as the questionnaire's authors give none."
)


def test_an_estimated_score_is_footnoted_as_the_projects_missing_item_rule(
    app: Flask, followed: Followed
) -> None:
    world = followed.world
    complete = world.client_of(world.counsellor)
    world.submit(complete, world.t0, {"who5": WHO5_WAVES[0]}, when=utcnow() - dt.timedelta(days=90))
    assert PROJECT_RULE_NOTE not in pdf_text(make_pdf(app, complete.id, "counsellor"))
    item9_missing = {
        "phq9_interest": 1, "phq9_down": 1, "phq9_sleep": 2, "phq9_tired": 1, "phq9_appetite": 0,
        "phq9_failure": 1, "phq9_concentration": 1, "phq9_psychomotor": 0,
    }  # fmt: skip
    world.submit(followed.client, None, {"phq9": item9_missing}, when=utcnow() - dt.timedelta(days=1))
    text = pdf_text(make_pdf(app, followed.client.id, "counsellor"))
    assert "Estimated from the answered items: Mood (PHQ-9): Total score (1 item missing)" in text
    assert PROJECT_RULE_NOTE in text


#: Headings and words the fullest report must show, per language.
FULLEST_WORDS = {
    "en": ("Page {number} of {count}", (
        "Scores over time", "Every score by session", "Missing data", "Questionnaires and citations",
        "Domain profile", "Better since intake",
    )),
    "nl": ("Pagina {number} van {count}", (
        "Scores door de tijd", "Alle scores per sessie", "Ontbrekende gegevens",
        "Vragenlijsten en bronvermeldingen", "Beter sinds de intake",
    )),
    "fr": ("Page {number} sur {count}", (
        "Scores dans le temps", "Tous les scores par séance", "Données manquantes",
        "Questionnaires et références", "Mieux depuis l'admission",
    )),
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_the_fullest_demo_battery_at_four_timepoints_still_fits_two_to_four_pages(
    app: Flask, followed_fullest: Followed, language: str
) -> None:
    assert len(fullest_demo_battery()) == 14
    data = make_pdf(app, followed_fullest.client.id, "counsellor", language)
    pages = pdf_pages(data)
    assert 2 <= len(pages) <= 4, len(pages)
    page_words, expected_words = FULLEST_WORDS[language]
    for number, page in enumerate(pages, start=1):
        assert followed_fullest.client.code in page, f"the code is missing on page {number}"
        assert page_words.format(number=number, count=len(pages)) in " ".join(page.split())
    text = pdf_text(data)
    for expected in expected_words:
        assert expected in text, expected
    assert "Intake" in text and "12 months" in text
    squeezed = text.replace(" ", "")
    for key in fullest_demo_battery():  # every questionnaire's citation, from its first author on
        first_author = questionnaire_of(bank_version(key)).citation.split()[0]
        assert first_author in squeezed, key


@pytest.mark.parametrize("language", ["en", "fr"])
def test_urgent_flags_at_every_session_with_notes_still_fit_four_pages(
    app: Flask, db: SQLAlchemy, followed_fullest: Followed, language: str
) -> None:
    """As in the demo: the fullest battery, the same urgent flags raised at every timepoint, each acknowledged
    with a note; flags of one session handled together share a row."""
    world = followed_fullest.world
    raised = db.session.query(ScoreFlag).filter_by(session_id=followed_fullest.sessions[0].id).all()
    assert raised, "the intake answers raise no flag"
    for session in followed_fullest.sessions:
        for flag in raised:
            if session.id != flag.session_id:
                flag = ScoreFlag(
                    session_id=session.id,
                    questionnaire_version_id=flag.questionnaire_version_id,
                    flag_id=flag.flag_id,
                    severity="urgent",
                )
                db.session.add(flag)
                db.session.flush()
            flag.acknowledged_at, flag.acknowledged_by = utcnow(), world.counsellor.id
            db.session.add(
                AlertAcknowledgement(
                    flag_id=flag.id,
                    acknowledged_by=world.counsellor.id,
                    note="Talked it through with the client at the next appointment; support plan reviewed.",
                )
            )
    db.session.flush()
    data = make_pdf(app, followed_fullest.client.id, "counsellor", language)
    assert 2 <= len(pdf_pages(data)) <= 4, len(pdf_pages(data))
    text = pdf_text(data)
    assert text.count("support plan reviewed") == len(followed_fullest.sessions)  # one row per session


@pytest.mark.parametrize("kind", ["counsellor", "client"])
def test_the_timepoints_and_the_programme_are_named_in_the_report_language(
    app: Flask, db: SQLAlchemy, followed: Followed, kind: str
) -> None:
    programme = followed.client.programme
    programme.name_texts = {"en": programme.name, "nl": "Drugbehandelingskamer"}
    for timepoint in programme.timepoints:
        timepoint.label_texts = {"en": timepoint.label, "nl": f"Meting {timepoint.key}"}
    db.session.flush()
    dutch = pdf_text(make_pdf(app, followed.client.id, kind, "nl"))
    assert "Drugbehandelingskamer" in dutch and "12 months" not in dutch
    english = pdf_text(make_pdf(app, followed.client.id, kind, "en"))
    assert programme.name in english and "Drugbehandelingskamer" not in english
    if kind == "counsellor":  # the client's own report names no timepoint
        assert "Meting t12m" in dutch and "12 months" in english and "Meting" not in english
