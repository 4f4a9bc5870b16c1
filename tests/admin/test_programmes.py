"""Programmes from the admin pages: timepoints, windows and batteries, changed only after a confirmation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.i18n import translated_error
from survey_app.models import AuditEvent, Programme, QuestionnaireVersion, Timepoint, TimepointQuestionnaire
from survey_app.services.assessments import start_session
from survey_app.services.programme_admin import (
    BatteryChoice,
    ProgrammeChangeError,
    TimepointDraft,
    create_programme,
    draft_of,
    remove_timepoint,
    save_timepoint,
    timepoint_changes,
)
from survey_app.services.user_messages import UserFacingError
from tests.admin.conftest import AdminWorld

Builder = Callable[..., Any]


@pytest.fixture
def versions(make_questionnaire_version: Builder) -> dict[str, QuestionnaireVersion]:
    """Stored versions: alpha v1 and v2, beta v1."""
    return {
        "alpha1": make_questionnaire_version("alpha", 1),
        "alpha2": make_questionnaire_version("alpha", 2),
        "beta1": make_questionnaire_version("beta", 1),
    }


@pytest.fixture
def programme(db: SQLAlchemy, world: AdminWorld, versions: dict[str, QuestionnaireVersion]) -> Programme:
    """A programme of the admin's organisation: t0 (intake, 0-14 days) and t3m (91 days, 14 either side)."""
    made = create_programme(db.session, world.admin, "court", "Court", "")
    save_timepoint(db.session, world.admin, made, None, _draft("t0", 0, 0, 14))
    save_timepoint(db.session, world.admin, made, None, _draft("t3m", 91, 14, 14))
    return made


DEFAULT_BATTERY = (BatteryChoice("alpha", 1, True), BatteryChoice("beta", None, False))


def _draft(key: str, offset: int, before: int, after: int) -> TimepointDraft:
    return TimepointDraft(key, key.upper(), "intake", offset, before, after, DEFAULT_BATTERY)


def _problems(error: pytest.ExceptionInfo[UserFacingError]) -> list[str]:
    return [str(message) for message in error.value.messages]


def test_overlapping_windows_are_refused_and_nothing_is_saved(
    db: SQLAlchemy, world: AdminWorld, programme: Programme
) -> None:
    with pytest.raises(ProgrammeChangeError) as refused:
        save_timepoint(db.session, world.admin, programme, None, _draft("t1m", 30, 20, 50))
    assert _problems(refused) == [
        "The windows of t0 and t1m overlap: move the offset or narrow a window.",
        "The windows of t1m and t3m overlap: move the offset or narrow a window.",
    ]
    [t3m] = [tp for tp in programme.timepoints if tp.key == "t3m"]
    with pytest.raises(ProgrammeChangeError):
        save_timepoint(db.session, world.admin, programme, t3m, replace(draft_of(t3m), offset_days=10))
    db.session.expire_all()
    assert [(tp.key, tp.offset_days) for tp in programme.timepoints] == [("t0", 0), ("t3m", 91)]


def test_windows_on_different_anchors_do_not_overlap(
    db: SQLAlchemy, world: AdminWorld, programme: Programme
) -> None:
    hearing = replace(_draft("th", 0, 0, 14), anchor="hearing")
    assert save_timepoint(db.session, world.admin, programme, None, hearing).key == "th"


@pytest.mark.parametrize(
    ("battery", "problem"),
    [
        ((BatteryChoice("gamma", None, True),), "There is no published questionnaire 'gamma'."),
        ((BatteryChoice("alpha", 7, True),), "alpha has no published version 7."),
        ((BatteryChoice("alpha", 1, True), BatteryChoice("alpha", 2, False)), "alpha is listed twice."),
        ((), "Choose one questionnaire at least."),
        ((BatteryChoice("beta", None, False),), "Mark one questionnaire at least as core (always given)."),
    ],
)
def test_unknown_questionnaires_and_versions_are_refused(
    db: SQLAlchemy, world: AdminWorld, programme: Programme, battery: tuple[BatteryChoice, ...], problem: str
) -> None:
    [t0] = [tp for tp in programme.timepoints if tp.key == "t0"]
    before = [(entry.questionnaire_key, entry.questionnaire_version) for entry in t0.battery]
    with pytest.raises(ProgrammeChangeError) as refused:
        save_timepoint(db.session, world.admin, programme, t0, replace(draft_of(t0), battery=battery))
    assert problem in _problems(refused)
    db.session.expire_all()
    assert [(entry.questionnaire_key, entry.questionnaire_version) for entry in t0.battery] == before


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"key": "T0 new"}, "A key is lower-case letters, digits and _, such as t3m."),
        ({"key": "t0"}, "Another timepoint has this key."),
        ({"label": " "}, "Give the timepoint a name (200 characters at most)."),
        ({"anchor": "birthday"}, "Choose one of the dates listed to count from."),
        ({"offset_days": -1}, "The offset is 0 to 3660 days."),
        ({"window_after_days": 400}, "A window is 0 to 365 days."),
    ],
)
def test_bad_timepoints_are_refused(
    db: SQLAlchemy, world: AdminWorld, programme: Programme, changes: dict[str, Any], problem: str
) -> None:
    draft = replace(_draft("t12m", 365, 30, 30), **changes)
    with pytest.raises(ProgrammeChangeError) as refused:
        timepoint_changes(db.session, programme, None, draft)
    assert problem in _problems(refused)


def test_the_changes_are_listed_before_saving(
    db: SQLAlchemy, world: AdminWorld, programme: Programme
) -> None:
    [t3m] = [tp for tp in programme.timepoints if tp.key == "t3m"]
    wanted = replace(
        draft_of(t3m),
        label="Three months",
        window_after_days=21,
        battery=(BatteryChoice("beta", None, True), BatteryChoice("alpha", 2, True)),
    )
    assert [str(change) for change in timepoint_changes(db.session, programme, t3m, wanted)] == [
        "Name: T3M → Three months",
        "Window after: 14 → 21 days",
        "beta is now core.",
        "alpha: v1 → v2",
        "The order of the questionnaires changes.",
    ]
    assert timepoint_changes(db.session, programme, t3m, draft_of(t3m)) == []


def test_a_change_never_rewrites_a_started_session_and_applies_to_new_ones(
    db: SQLAlchemy, world: AdminWorld, programme: Programme, make_client: Builder,
    versions: dict[str, QuestionnaireVersion],
) -> None:  # fmt: skip
    [t0] = [tp for tp in programme.timepoints if tp.key == "t0"]
    started = start_session(db.session, make_client(site=world.site, programme=programme), t0)
    given_before = [entry.questionnaire_version_id for entry in started.questionnaires]
    assert given_before == [versions["alpha1"].id, versions["beta1"].id]
    save_timepoint(
        db.session,
        world.admin,
        programme,
        t0,
        replace(draft_of(t0), battery=(BatteryChoice("alpha", 2, True),)),
    )
    db.session.expire_all()
    assert [entry.questionnaire_version_id for entry in started.questionnaires] == given_before
    fresh = start_session(db.session, make_client(site=world.site, programme=programme), t0)
    assert [entry.questionnaire_version_id for entry in fresh.questionnaires] == [versions["alpha2"].id]
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "programme.timepoint_save")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.details["battery"] == ["alpha:v2"] and event.actor_id == world.admin.id


def test_a_timepoint_with_sessions_stays(
    db: SQLAlchemy, world: AdminWorld, programme: Programme, make_client: Builder
) -> None:
    t0, t3m = programme.timepoints
    start_session(db.session, make_client(site=world.site, programme=programme), t0)
    with pytest.raises(UserFacingError, match="Sessions were started at T0"):
        remove_timepoint(db.session, world.admin, t0)
    remove_timepoint(db.session, world.admin, t3m)
    db.session.expire_all()
    assert [tp.key for tp in programme.timepoints] == ["t0"]
    assert db.session.scalar(select(func.count()).select_from(TimepointQuestionnaire).where(
        TimepointQuestionnaire.timepoint_id == t3m.id)) == 0  # fmt: skip


def test_the_refusal_names_the_timepoint_in_the_readers_language(
    app: Flask, db: SQLAlchemy, world: AdminWorld, programme: Programme, make_client: Builder
) -> None:
    t0 = programme.timepoints[0]
    t0.label_texts = {"en": "T0", "nl": "Instroom", "fr": "Admission"}
    start_session(db.session, make_client(site=world.site, programme=programme), t0)
    with pytest.raises(UserFacingError) as refused:
        remove_timepoint(db.session, world.admin, t0)
    with app.test_request_context(headers={"Accept-Language": "nl"}):
        assert translated_error(refused.value).startswith("Bij Instroom werden al sessies gestart")


# ---------------------------------------------------------------- the pages
def _form(timepoint: Timepoint | None, **changes: Any) -> dict[str, Any]:
    """The fields of the timepoint page as a browser posts them (battery rows: alpha, then beta)."""
    data: dict[str, Any] = {
        "label": timepoint.label if timepoint else "Twelve months",
        "anchor": "intake",
        "offset_days": str(timepoint.offset_days if timepoint else 365),
        "window_before_days": str(timepoint.window_before_days if timepoint else 30),
        "window_after_days": str(timepoint.window_after_days if timepoint else 30),
        "battery-0-key": "alpha", "battery-0-include": "y", "battery-0-version": "1", "battery-0-core": "y",
        "battery-0-order": "1",
        "battery-1-key": "beta", "battery-1-include": "y", "battery-1-version": "", "battery-1-order": "2",
    }  # fmt: skip
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_changing_a_timepoint_shows_what_changes_then_saves_only_when_confirmed(
    db: SQLAlchemy,
    world: AdminWorld,
    programme: Programme,
    make_client: Builder,
    post: Builder,
    text_of: Builder,
) -> None:
    t0 = programme.timepoints[0]
    start_session(db.session, make_client(site=world.site, programme=programme), t0)
    page = f"/admin/programmes/{programme.id}/timepoints/{t0.id}"
    unchanged = post(page, _form(t0), page=page)
    assert unchanged.status_code == 200 and "Nothing changes." in text_of(unchanged)
    checked = post(page, _form(t0, **{"battery-0-version": "2", "window_after_days": "20"}), page=page)
    shown = text_of(checked)
    assert checked.status_code == 200 and "What changes" in shown
    assert "alpha: v1 → v2" in shown and "Window after: 14 → 20 days" in shown
    assert "1 session was started at this timepoint. It keeps the questionnaires it was started with" in shown
    db.session.expire_all()
    assert (t0.window_after_days, t0.battery[0].questionnaire_version) == (14, 1)  # nothing saved yet
    html = checked.get_data(as_text=True)
    carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    carried.pop("csrf_token")
    saved = post(page, {**carried, "confirm": "yes"}, page=page)
    assert saved.status_code == 302
    db.session.expire_all()
    assert (t0.window_after_days, t0.battery[0].questionnaire_version) == (20, 2)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", ("alpha: v1 → nieuwste", "Telt vanaf: Intakedatum → Zittingsdatum")),
        ("fr", ("alpha : v1 → dernière", "Compte à partir de : Date d'admission → Date d'audience")),
    ],
)
def test_the_confirmation_is_worded_wholly_in_the_page_language(
    world: AdminWorld,
    programme: Programme,
    post: Builder,
    text_of: Builder,
    language: str,
    expected: tuple[str, ...],
) -> None:
    t0 = programme.timepoints[0]
    page = f"/admin/programmes/{programme.id}/timepoints/{t0.id}"
    changed = _form(t0, **{"battery-0-version": "", "anchor": "hearing"})
    shown = text_of(post(page, changed, page=page, headers={"Accept-Language": language}))
    assert all(line in shown for line in expected), shown
    assert "latest" not in shown and "intake →" not in shown


def test_a_confirmation_for_a_timepoint_changed_meanwhile_is_refused(
    db: SQLAlchemy, world: AdminWorld, programme: Programme, post: Builder, text_of: Builder
) -> None:
    t0 = programme.timepoints[0]
    page = f"/admin/programmes/{programme.id}/timepoints/{t0.id}"
    stale = post(
        page, {**_form(t0, window_after_days="20"), "confirm": "yes", "fingerprint": "0" * 16}, page=page
    )
    assert stale.status_code == 409 and "Someone else changed this timepoint meanwhile" in text_of(stale)
    db.session.expire_all()
    assert t0.window_after_days == 14


def test_a_change_checked_from_a_form_opened_before_someone_else_saved_says_so(
    db: SQLAlchemy, client: FlaskClient, world: AdminWorld, programme: Programme, post: Builder,
    text_of: Builder,
) -> None:  # fmt: skip
    t0 = programme.timepoints[0]
    page = f"/admin/programmes/{programme.id}/timepoints/{t0.id}"
    opened = client.get(page).get_data(as_text=True)  # this admin opens the form ...
    fingerprint = re.search(r'name="fingerprint"[^>]*value="([^"]*)"', opened)
    assert fingerprint is not None and fingerprint.group(1)
    save_timepoint(  # ... another admin widens the window meanwhile ...
        db.session, world.admin, programme, t0, replace(draft_of(t0), window_after_days=20)
    )
    db.session.flush()
    renamed = _form(t0, label="Baseline", window_after_days="14", fingerprint=fingerprint.group(1))
    checked = post(page, renamed, page=page)  # ... and this one checks a new name, in the form as opened
    shown = text_of(checked)
    assert checked.status_code == 409 and "Someone else changed this timepoint meanwhile" in shown
    assert "Window after: 20 → 14 days" in shown
    db.session.expire_all()
    assert (t0.label, t0.window_after_days) == ("T0", 20)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"offset_days": "80"}, "The windows of t0 and t12m overlap"),
        ({"battery-0-key": "nosuch"}, "There is no published questionnaire 'nosuch'."),
        ({"battery-0-version": "9"}, "alpha has no published version 9."),
        ({"battery-0-version": "two"}, "alpha has no published version 0."),
        ({"battery-0-include": None, "battery-1-include": None}, "Choose one questionnaire at least."),
        ({"battery-0-order": "-3"}, "Type a number from 1 to 999."),
        ({"offset_days": "soon"}, "Type a whole number of days."),
        ({"key": ""}, "A key is lower-case letters"),
    ],
)
def test_a_new_timepoint_with_bad_input_is_refused_with_a_clear_message(
    db: SQLAlchemy, world: AdminWorld, programme: Programme, post: Builder, text_of: Builder,
    changes: dict[str, Any], message: str,
) -> None:  # fmt: skip
    page = f"/admin/programmes/{programme.id}/timepoints/new"
    data = _form(None, **{"key": "t12m", "window_before_days": "90", **changes})
    response = post(page, {**data, "confirm": "yes", "fingerprint": "new"}, page=page)
    assert response.status_code == 422 and message in text_of(response), text_of(response)[-600:]
    db.session.expire_all()
    assert [tp.key for tp in programme.timepoints] == ["t0", "t3m"]


def test_a_new_timepoint_through_the_pages(
    db: SQLAlchemy, world: AdminWorld, programme: Programme, post: Builder
) -> None:
    page = f"/admin/programmes/{programme.id}/timepoints/new"
    saved = post(page, {**_form(None, key="t12m"), "confirm": "yes", "fingerprint": "new"}, page=page)
    assert saved.status_code == 302
    db.session.expire_all()
    [t12m] = [tp for tp in programme.timepoints if tp.key == "t12m"]
    assert [(e.questionnaire_key, e.questionnaire_version, e.is_core) for e in t12m.battery] == [
        ("alpha", 1, True), ("beta", None, False)
    ]  # fmt: skip


def test_another_organisations_programme_is_not_found(
    db: SQLAlchemy, client: FlaskClient, world: AdminWorld, make_programme: Builder, post: Builder
) -> None:
    elsewhere = make_programme()
    timepoint = elsewhere.timepoints[0]
    assert client.get(f"/admin/programmes/{elsewhere.id}").status_code == 404
    path = f"/admin/programmes/{elsewhere.id}/timepoints/{timepoint.id}"
    assert client.get(path).status_code == 404
    assert post(f"{path}/remove").status_code == 404
    assert post(path, {**_form(timepoint, label="Mine"), "confirm": "yes"}).status_code == 404
    db.session.expire_all()
    assert timepoint.label == "t0" and len(elsewhere.timepoints) == 2


def test_programmes_are_created_with_a_clear_key(
    db: SQLAlchemy, world: AdminWorld, post: Builder, text_of: Builder
) -> None:
    refused = post(
        "/admin/programmes/new", {"key": "Drug Court", "name": "Drug court"}, page="/admin/programmes/new"
    )
    assert refused.status_code == 422 and "A key is lower-case letters" in text_of(refused)
    saved = post(
        "/admin/programmes/new", {"key": "drug_court", "name": "Drug court"}, page="/admin/programmes/new"
    )
    assert saved.status_code == 302
    again = post(
        "/admin/programmes/new", {"key": "drug_court", "name": "Another"}, page="/admin/programmes/new"
    )
    assert again.status_code == 422 and "Another programme of your organisation has this key." in text_of(
        again
    )


def test_programme_names_and_timepoint_labels_are_edited_in_every_language(
    client: FlaskClient, db: SQLAlchemy, programme: Programme, post: Builder, text_of: Builder
) -> None:
    page = f"/admin/programmes/{programme.id}"
    names = {"name": "Court", "name_nl": "Drugbehandelingskamer", "name_fr": "Chambre de traitement"}
    assert post(page, {**names, "description_nl": "Voor wie"}, page=page).status_code == 302
    db.session.expire_all()
    assert (programme.name_in("nl"), programme.name_in("fr")) == (
        "Drugbehandelingskamer",
        "Chambre de traitement",
    )
    assert programme.description_in("nl") == "Voor wie" and programme.description_in("fr") == ""
    assert "Drugbehandelingskamer" in text_of(client.get(page, headers={"Accept-Language": "nl"}))
    t3m = programme.timepoints[1]
    timepoint_page = f"/admin/programmes/{programme.id}/timepoints/{t3m.id}"
    changed = post(timepoint_page, _form(t3m, label_nl="3 maanden", label_fr="3 mois"), page=timepoint_page)
    assert "Name in Dutch: → 3 maanden" in text_of(changed)
    html = changed.get_data(as_text=True)
    carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    carried.pop("csrf_token")
    assert post(timepoint_page, {**carried, "confirm": "yes"}, page=timepoint_page).status_code == 302
    db.session.expire_all()
    assert (t3m.label_in("en"), t3m.label_in("nl"), t3m.label_in("fr")) == ("T3M", "3 maanden", "3 mois")
    french = text_of(client.get(page, headers={"Accept-Language": "fr"}))
    assert "3 mois" in french and "Chambre de traitement" in french
    assert programme.timepoints[0].label_in("nl") == "T0"  # not translated: the English label
