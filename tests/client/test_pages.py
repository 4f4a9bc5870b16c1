"""The client's pages without JavaScript: one screen per form post, skip rules, review, submit, languages."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import Answer, AssessmentSession, Score, Submission, TimepointQuestionnaire
from tests.client.fixtures import page_csrf
from tests.client.support import TabletWorld, store_bank

Handover = Callable[..., AssessmentSession]


def _answers(db: SQLAlchemy, assessment: AssessmentSession) -> dict[str, object]:
    rows = db.session.execute(select(Answer.item_id, Answer.value).where(Answer.session_id == assessment.id))
    return {item_id: value for item_id, value in rows}


def _post(client: FlaskClient, n: int, screen: int, nav: str = "next", **fields: object) -> object:
    data = {"csrf_token": page_csrf(client, "/client/"), "nav": nav, **fields}
    return client.post(f"/client/q/{n}/{screen}", data=data)


def test_welcome_says_how_many_questionnaires_and_where_to_start(
    client: FlaskClient, hand_over: Handover
) -> None:
    hand_over()
    page = client.get("/client/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "There are 2 short questionnaires" in html and 'href="/client/q/0/0"' in html
    assert "Well-being (WHO-5)" in html and "Tablet" in html
    assert "TAB-" not in html  # nothing that identifies the client


def test_a_whole_session_without_javascript(client: FlaskClient, db: SQLAlchemy, hand_over: Handover) -> None:
    assessment = hand_over()
    who5 = ["who5_cheerful", "who5_calm", "who5_active", "who5_rested", "who5_interest"]
    assert _post(client, 0, 0).location.endswith("/client/q/0/1")  # the instructions
    for screen, item in enumerate(who5, start=1):
        response = _post(client, 0, screen, shown=item, **{item: "3"})
        assert response.status_code == 302
    assert response.location.endswith("/client/q/1/0")
    assert _post(client, 1, 0).location.endswith("/client/q/1/1")  # the introduction
    assert _post(client, 1, 1, shown="mood", mood="4").location.endswith("/client/q/1/2")
    assert _post(client, 1, 2, shown="mood_why", mood_why="sun").location.endswith("/client/q/1/3")
    response = _post(client, 1, 3, shown="days_used days_ok", days_used="0", days_ok="1")
    assert response.location.endswith("/client/q/1/4")
    assert _post(client, 1, 4, shown="income", income=["1", "3"]).location.endswith("/client/q/1/5")
    assert _post(client, 1, 5, shown="income_other", income_other="gifts").location.endswith("/client/q/1/6")
    assert _post(client, 1, 6, shown="rating", rating="7").location.endswith("/client/q/1/7")
    response = _post(client, 1, 7, shown="first_day", first_day="2025-05-01")
    assert response.location.endswith("/client/review")  # days_used 0 hides the last section
    answers = _answers(db, assessment)
    assert answers["income"] == [1, 3] and answers["days_used"] == 0 and answers["first_day"] == "2025-05-01"
    review = client.get("/client/review").get_data(as_text=True)
    assert "More than half of the time" in review and "Work, Other" in review and "0 days" in review
    assert "Where was it" not in review  # hidden by the skip rule
    key = review.split('name="idempotency_key" value="')[1].split('"')[0]
    token = page_csrf(client, "/client/")
    done = client.post("/client/submit", data={"csrf_token": token, "idempotency_key": key})
    assert done.status_code == 302 and done.location.endswith("/client/done")
    thanks = client.get("/client/done")
    assert thanks.mimetype == "text/html" and "Thank you" in thanks.get_data(as_text=True)
    assert thanks.headers["Clear-Site-Data"] == '"cache", "storage"'
    db.session.refresh(assessment)
    assert assessment.status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(Score).where(Score.session_id == assessment.id))
    again = client.post("/client/submit", data={"csrf_token": token, "idempotency_key": key})
    assert again.location.endswith("/client/done")
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    for path in ("/client/", "/client/q/0/0", "/client/review"):  # read-only once sent
        assert client.get(path).location.endswith("/client/done")
    late = {"csrf_token": token, "shown": "who5_cheerful", "who5_cheerful": "1"}
    assert client.post("/client/q/0/1", data=late).location.endswith("/client/done")
    assert _answers(db, assessment)["who5_cheerful"] == 3


def test_a_bad_answer_is_explained_and_nothing_is_stored(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    for value in ("29", "seven", "-1", "1.5"):
        response = _post(client, 1, 3, shown="days_used days_ok", days_used=value, days_ok="1")
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Please type a whole number from 0 to 28." in html and f'value="{value}"' in html
    response = _post(client, 1, 1, shown="mood", mood="7")  # a tampered code
    assert response.status_code == 422 and "Please choose one of the answers shown." in response.get_data(
        True
    )
    assert _post(client, 1, 1, shown="mood", mood="x").status_code == 422
    assert _answers(db, assessment) == {}


@pytest.mark.parametrize("typed", ["--5", "5²"])
def test_a_number_with_stray_signs_or_superscripts_is_explained_not_a_crash(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover, typed: str
) -> None:
    assessment = hand_over()
    response = _post(client, 1, 3, shown="days_used", days_used=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Please type a whole number from 0 to 28." in html
    assert f'value="{typed}"' in html and _answers(db, assessment) == {}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Please give a date from January 1, 2020 to December 31, 2030."),
        ("nl", "Geef een datum van 1 januari 2020 tot 31 december 2030."),
        ("fr", "Indiquez une date du 1 janvier 2020 au 31 décembre 2030."),
    ],
)
def test_a_date_outside_the_questions_range_says_which_dates_may_be_given(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover, language: str, message: str
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    client.post("/client/language", data={"csrf_token": token, "language": language, "next": "/client/"})
    response = _post(client, 1, 7, shown="first_day", first_day="2019-05-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and 'value="2019-05-01"' in html
    assert _answers(db, assessment) == {}


def test_a_refused_screen_shows_again_every_answer_the_client_gave_on_it(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    _post(client, 1, 3, shown="days_used", days_used="5")  # opens days_ok on the same screen
    response = _post(client, 1, 3, shown="days_used days_ok", days_used="29", days_ok="0")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="29"' in html
    assert '<input type="radio" name="days_ok" value="0" checked>' in html  # the choice next to the typo
    assert _answers(db, assessment) == {"days_used": 5}


def test_a_required_question_must_be_answered_to_go_on_but_not_to_go_back(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    response = _post(client, 1, 1, shown="mood")
    assert response.status_code == 422 and "Please answer this question to go on." in response.get_data(True)
    assert _post(client, 1, 1, nav="back", shown="mood").location.endswith("/client/q/1/0")


def test_declining_a_number_and_clearing_an_answer(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    _post(client, 1, 3, shown="days_used days_ok", days_used="", **{"days_used:declined": "99"}, days_ok="0")
    assert _answers(db, assessment) == {"days_used": 99}  # declining hides days_ok: its answer is not kept
    page = client.get("/client/q/1/3").get_data(as_text=True)
    assert 'value="99" data-declined checked' in page
    _post(client, 1, 3, shown="days_used days_ok", days_used="")
    assert _answers(db, assessment) == {}


def test_an_answer_that_opens_a_question_on_the_same_screen_shows_it(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    first = client.get("/client/q/1/3").get_data(as_text=True)
    assert 'data-item="days_ok" data-type="yes_no" hidden' in first
    response = _post(client, 1, 3, shown="days_used", days_used="5")
    assert response.location.endswith("/client/q/1/3")  # the same screen again, now asking days_ok
    again = client.get("/client/q/1/3").get_data(as_text=True)
    assert 'data-item="days_ok" data-type="yes_no">' in again
    assert _post(client, 1, 3, shown="days_used days_ok", days_used="5", days_ok="1").location.endswith(
        "/q/1/4"
    )
    assert client.get("/client/q/1/8").status_code == 200  # the follow-up section is shown now
    _post(client, 1, 3, shown="days_used days_ok", days_used="0", days_ok="1")
    hidden = client.get("/client/q/1/8")
    assert hidden.status_code == 302 and hidden.location.endswith("/client/review")
    assert _answers(db, assessment) == {"days_used": 0, "days_ok": 1}


def test_unknown_screens_and_questionnaires(client: FlaskClient, hand_over: Handover) -> None:
    hand_over()
    assert client.get("/client/q/5/0").status_code == 404
    assert client.get("/client/q/0/99").location.endswith("/client/q/0/5")
    assert _post(client, 0, 99).status_code == 404


def test_back_from_the_first_screen_goes_to_the_previous_questionnaire(
    client: FlaskClient, hand_over: Handover
) -> None:
    hand_over()
    assert _post(client, 1, 0, nav="back").location.endswith("/client/q/0/5")
    assert _post(client, 0, 1, nav="back", shown="who5_cheerful").location.endswith("/client/q/0/0")
    assert _post(client, 0, 0, nav="back").location.endswith("/client/")


def test_the_language_switch_changes_interface_and_questionnaire_texts(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    response = client.post(
        "/client/language", data={"csrf_token": token, "language": "nl", "next": "/client/q/0/1"}
    )
    assert response.location.endswith("/client/q/0/1")
    page = client.get("/client/q/0/1").get_data(as_text=True)
    assert '<html lang="nl">' in page and "De afgelopen twee weken voelde ik me opgewekt" in page
    db.session.refresh(assessment)
    assert assessment.language == "nl"
    evil = client.post(
        "/client/language", data={"csrf_token": token, "language": "xx", "next": "https://evil.example/"}
    )
    assert evil.location.endswith("/client/")


@pytest.mark.parametrize(("language", "skip_link"), [("nl", "Naar de inhoud"), ("fr", "Aller au contenu")])
def test_the_skip_link_is_in_the_clients_language(
    client: FlaskClient, hand_over: Handover, language: str, skip_link: str
) -> None:
    hand_over()
    token = page_csrf(client, "/client/")
    client.post("/client/language", data={"csrf_token": token, "language": language, "next": "/client/"})
    page = client.get("/client/").get_data(as_text=True)
    assert f'<a class="skip-link" href="#main">{skip_link}</a>' in page and "Skip to content" not in page


def test_larger_text_and_high_contrast_stay_on_for_the_session(
    client: FlaskClient, hand_over: Handover
) -> None:
    hand_over()
    token = page_csrf(client, "/client/")
    client.post("/client/display", data={"csrf_token": token, "large": "on", "next": "/client/"})
    client.post("/client/display", data={"csrf_token": token, "contrast": "on", "next": "/client/"})
    page = client.get("/client/q/0/0").get_data(as_text=True)
    assert "client-large.css?v=" in page and 'data-pref-css="large"' in page
    assert 'data-pref-css="contrast"' in page
    client.post("/client/display", data={"csrf_token": token, "large": "off"})
    assert 'data-pref-css="large"' not in client.get("/client/").get_data(as_text=True)


def test_pages_have_no_inline_script_or_style(client: FlaskClient, hand_over: Handover) -> None:
    hand_over()
    for path in ("/client/", "/client/q/1/3", "/client/review"):
        page = client.get(path).get_data(as_text=True)
        assert " style=" not in page and "<style" not in page and " on" + "click=" not in page
        scripts = page.count("<script")
        assert scripts == page.count('<script src="/static/js/client/') + page.count(
            'type="application/json"'
        )


def test_a_long_questionnaire_comes_in_pages_that_link_to_each_other(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Handover
) -> None:
    store_bank(db.session, "top")
    timepoint = world.timepoints[0]
    timepoint.battery.append(TimepointQuestionnaire(questionnaire_key="top", position=2, is_core=True))
    db.session.flush()
    hand_over()
    page = client.get("/client/q/2/5").get_data(as_text=True)
    config = json.loads(page.split('id="client-config">')[1].split("</script>")[0])
    assert config["screens"] == [5, 16]
    assert 'data-screen="5"' in page and 'data-screen="15"' in page
    assert 'data-screen="4"' not in page and 'data-screen="16"' not in page
    assert (
        config["urls"]["next"] == "/client/q/2/16" and config["urls"]["previous"] == "/client/q/2/4?dir=back"
    )
    assert config["answers"] == {} and config["progress"]["steps_before"] == 4


def test_a_skipped_screen_sends_the_client_on_in_the_direction_of_travel(
    client: FlaskClient, hand_over: Handover
) -> None:
    hand_over()
    _post(client, 1, 1, shown="mood", mood="1")
    assert client.get("/client/q/1/2").location.endswith("/client/q/1/3")
    assert client.get("/client/q/1/2?dir=back").location.endswith("/client/q/1/1")


def test_sending_with_a_required_question_empty_shows_the_review_marked(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    review = client.get("/client/review").get_data(as_text=True)
    assert "review-row-needed" in review and "Some questions still need an answer" in review
    needed = review.split('class="review-row review-row-needed"')[1].split("</div>")[0]
    assert "How is your mood" in needed and "Needs an answer" in needed  # said in words, not by colour only
    assert review.count("Needs an answer") == 1  # the questions one may leave empty say "Not answered"
    key = review.split('name="idempotency_key" value="')[1].split('"')[0]
    token = page_csrf(client, "/client/")
    response = client.post("/client/submit", data={"csrf_token": token, "idempotency_key": key})
    assert response.status_code == 422 and "review-row-needed" in response.get_data(as_text=True)
    db.session.refresh(assessment)
    assert assessment.status == "open"


def test_an_oversized_or_unknown_request_is_explained_in_the_clients_language_and_nothing_is_stored(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    client.post("/client/language", data={"csrf_token": token, "language": "nl", "next": "/client/"})
    huge = client.post(
        "/client/q/1/1", data={"csrf_token": token, "nav": "next", "shown": "mood", "mood": "1" * 3_000_000}
    )
    page = huge.get_data(as_text=True)
    assert huge.status_code == 413 and '<html lang="nl">' in page
    assert "Er werd te veel tegelijk verstuurd" in page and "Fout 413" in page
    assert _answers(db, assessment) == {}
    missing = client.get("/client/q/9/0")
    assert missing.status_code == 404 and "Op dit adres staat geen pagina." in missing.get_data(as_text=True)
    expired = client.post("/client/q/1/1", data={"csrf_token": "stale", "shown": "mood", "mood": "1"})
    assert expired.status_code == 400 and "Herlaad de pagina" in expired.get_data(as_text=True)
    assert _answers(db, assessment) == {}
