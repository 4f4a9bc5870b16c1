"""The filled-form record: one session exactly as answered, in the session's language, with its version."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from survey_app.models import Answer, AssessmentSession, QuestionnaireVersion, SessionQuestionnaire
from survey_app.models.base import utcnow
from survey_app.questionnaires.loader import content_hash
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.services.scoring import score_session
from tests.counsellor.conftest import bank_version
from tests.reports.conftest import Followed, keep_first_page, make_pdf, pdf_pages, pdf_text

DIARY = """format: 1
key: diary
version: 1
title: {en: Weekly diary, nl: Weekdagboek, fr: Journal de la semaine}
short_title: {en: Diary, nl: Dagboek, fr: Journal}
domain: functioning
citation: Project form.
licence: Free to use.
languages:
  en: {validated: false}
  nl: {validated: false}
  fr: {validated: false}
sections:
  - id: main
    items:
      - id: diary_used
        type: single_choice
        text:
          en: Did you use this week?
          nl: Heeft u deze week gebruikt?
          fr: Avez-vous consommé cette semaine ?
        options:
          - {code: 0, label: {en: "No", nl: Nee, fr: Non}}
          - {code: 1, label: {en: "Yes", nl: Ja, fr: Oui}}
          - code: 9
            missing: true
            label: {en: I'd rather not say, nl: Zeg ik liever niet, fr: Je préfère ne pas répondre}
      - id: diary_days
        type: integer
        min: 0
        max: 7
        show_if: diary_used == 1
        text: {en: On how many days?, nl: Op hoeveel dagen?, fr: Combien de jours ?}
      - id: diary_story
        type: text
        max_length: 2000
        text: {en: Tell us about your week., nl: Vertel over uw week., fr: Racontez-nous votre semaine.}
"""
LONG_WORD = "Zelfredzaamheidsondersteuningsprogramma" * 8
STORY = ("Une semaine difficile mais je tiens bon. " * 40 + LONG_WORD)[:2000]


def diary_version(db: SQLAlchemy) -> QuestionnaireVersion:
    """The diary (a declinable choice, a skip rule, a long text item) stored as a version."""
    row = QuestionnaireVersion(
        key="diary",
        version=1,
        content_hash=content_hash(DIARY.encode("utf-8")),
        source_yaml=DIARY,
        snapshot=read_yaml(DIARY).data,
        title="Diary",
    )
    db.session.add(row)
    db.session.flush()
    return row


def _session(
    db: SQLAlchemy,
    followed: Followed,
    versions: list[QuestionnaireVersion],
    answers: dict[int, dict[str, object]],
    language: str,
) -> AssessmentSession:
    now = utcnow()
    session = AssessmentSession(
        client_id=followed.client.id,
        site_id=followed.client.site_id,
        language=language,
        mode="interview",
        status="submitted",
        started_at=now - dt.timedelta(minutes=30),
        submitted_at=now,
    )
    session.questionnaires = [
        SessionQuestionnaire(questionnaire_version_id=row.id, position=index)
        for index, row in enumerate(versions)
    ]
    db.session.add(session)
    db.session.flush()
    for version_id, items in answers.items():
        for item_id, value in items.items():
            db.session.add(
                Answer(
                    session_id=session.id, questionnaire_version_id=version_id, item_id=item_id, value=value
                )
            )
    db.session.flush()
    score_session(db.session, session)
    db.session.flush()
    return session


def test_a_session_exactly_as_answered_in_its_language(
    app: Flask, db: SQLAlchemy, followed: Followed
) -> None:
    diary = diary_version(db)
    session = _session(db, followed, [diary], {diary.id: {"diary_used": 9, "diary_story": STORY}}, "fr")
    data = make_pdf(app, followed.client.id, "record", "en", session_id=session.id)
    text = pdf_text(data)
    assert "Journal de la semaine" in text and "Avez-vous consommé cette semaine ?" in text
    assert "Je préfère ne pas répondre (declined)" in text
    assert "Combien de jours ? (not asked (skip rule))" in text.replace("  ", " ")
    assert "Une semaine difficile mais je tiens bon." in text
    assert "".join(text.split()).count("Zelfredzaamheidsondersteuningsprogramma") >= 7  # wrapped, not cut off
    assert diary.content_hash in "".join(text.split())
    assert "diary" in text and "version 1" in text and "French" in text.replace("Français", "French")
    assert session.public_id in "".join(text.split())
    assert all(followed.client.code in page for page in pdf_pages(data))
    keep_first_page(data, "record")


def test_a_session_with_every_item_missing(app: Flask, db: SQLAlchemy, followed: Followed) -> None:
    who5 = followed.sessions[0].questionnaires[0].questionnaire_version
    session = _session(db, followed, [who5], {}, "nl")
    text = pdf_text(make_pdf(app, followed.client.id, "record", "en", session_id=session.id))
    assert text.count("(no answer)") == 5
    assert "Items answered: 0 of 5" in text
    assert "not scored: too many items missing" in text
    assert "voelde ik me opgewekt en in een goed humeur" in text  # the Dutch text the client saw


def test_a_scale_the_skip_rules_left_out_is_not_asked_not_missing(
    app: Flask, db: SQLAlchemy, followed: Followed
) -> None:
    functioning = bank_version("functioning")
    looking_for_work = {  # no job: "on how many days did you work?" is not asked
        "fun_employment": 5, "fun_education": 0, "fun_housing": 1, "fun_housing_stable": 1,
        "fun_income_sources": [1], "fun_money_enough": 2, "fun_debts": 0, "fun_court_case": 0,
        "fun_police_contact": 0, "fun_treatment_contact": 0, "fun_medication": 0,
    }  # fmt: skip
    session = _session(db, followed, [functioning], {functioning.id: looking_for_work}, "en")
    text = " ".join(
        pdf_text(make_pdf(app, followed.client.id, "record", "en", session_id=session.id)).split()
    )
    assert "too many items missing" not in text
    assert "Days worked — not asked (skip rule)" in text
