"""The record of one filled-in session, as data for its template: exactly what was asked and answered.

Question texts and answer labels come from the stored version in the language the session was answered in;
each questionnaire names its key, version and content hash. Items a skip rule hid are marked "not asked",
declined items "declined", items left open "no answer"; scores and flags of the session follow each form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from survey_app.domain.questionnaire import localise
from survey_app.domain.scoring import NotScored, why_not_scored
from survey_app.reports.wording import ReportWords
from survey_app.services.answer_review import ANSWERED, DECLINED, NOT_ASKED, UNANSWERED, QuestionnaireAnswers
from survey_app.services.reports import RecordData

#: Answers longer than this (characters) are printed below their question, across the page.
LONG_ANSWER = 120


@dataclass(frozen=True)
class RecordLine:
    """One item: its number, the question as the client read it, the answer, and how it stands."""

    number: str
    question: str
    answer: str
    state: str
    state_key: str

    @property
    def long(self) -> bool:
        """True for an answer too long for the answer column (free text): it gets the full width."""
        return len(self.answer) > LONG_ANSWER


@dataclass(frozen=True)
class RecordScore:
    """One scale's score in this session."""

    scale: str
    value: str
    band: str
    note: str


@dataclass(frozen=True)
class RecordForm:
    """One questionnaire of the session."""

    title: str
    key: str
    version: int
    content_hash: str
    validated: str
    lines: tuple[RecordLine, ...]
    answered: int
    scores: tuple[RecordScore, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class SessionRecord:
    """Everything the filled-form record shows."""

    code: str
    name: str
    facts: tuple[tuple[str, str], ...]
    forms: tuple[RecordForm, ...]
    generated: str


def _state_words() -> dict[str, str]:
    return {
        ANSWERED: "",
        DECLINED: _("declined"),
        UNANSWERED: _("no answer"),
        NOT_ASKED: _("not asked (skip rule)"),
    }


def _scores(
    data: RecordData, form: QuestionnaireAnswers, version_id: int, words: ReportWords
) -> tuple[RecordScore, ...]:
    questionnaire = form.questionnaire
    rows = []
    for score in data.scores.get(version_id, []):
        scale = questionnaire.scales_by_id.get(score.scale_id)
        if scale is None:
            rows.append(RecordScore(score.scale_id, words.score(score.value, 2), score.band or "", ""))
            continue
        band = scale.band(score.band)
        rows.append(
            RecordScore(
                localise(scale.label, words.language),
                words.score(score.value, scale.precision),
                localise(band.label, words.language) if band else "",
                _score_note(form, score.scale_id, score.value, score.prorated, score.missing_count),
            )
        )
    return tuple(rows)


def _score_note(
    form: QuestionnaireAnswers, scale_id: str, value: float | None, prorated: bool, missing: int
) -> str:
    """Why a scale has no score (too many items missing, or not asked), or that it was estimated."""
    if value is None:
        reason = why_not_scored(form.questionnaire, scale_id, missing)
        if reason is NotScored.TOO_MANY_MISSING:
            return _("not scored: too many items missing")
        if reason is NotScored.NOT_ASKED:
            return _("not asked (skip rule)")
        return _("not scored")
    if prorated:
        return ngettext("estimated: %(num)d item missing", "estimated: %(num)d items missing", missing)
    return ""


def _facts(data: RecordData, words: ReportWords, name: str) -> tuple[tuple[str, str], ...]:
    assessment = data.assessment
    facts = [(_("Code"), data.client.code)]
    if name:
        facts.append((_("Name"), name))
    facts += [
        (_("Session"), assessment.public_id),
        (
            _("Timepoint"),
            assessment.timepoint.label_in(words.language) if assessment.timepoint else words.extra_session,
        ),
        (_("Status"), words.session_statuses.get(assessment.status, assessment.status)),
        (_("Language answered in"), words.languages.get(assessment.language, assessment.language)),
        (_("How"), words.modes.get(assessment.mode, assessment.mode)),
        (_("Started"), words.moment(assessment.started_at)),
        (_("Last change"), words.moment(assessment.updated_at)),
        (_("Submitted"), words.moment(assessment.submitted_at) or _("not submitted")),
    ]
    return tuple(facts)


def build_session_record(
    data: RecordData, words: ReportWords, *, name: str, generated: dt.datetime
) -> SessionRecord:
    """The record of one session (`name` empty unless names may be shown)."""
    states = _state_words()
    version_ids = [given.questionnaire_version_id for given in data.assessment.questionnaires]
    forms = []
    for version_id, form in zip(version_ids, data.questionnaires, strict=True):
        questionnaire = form.questionnaire
        seen = data.assessment.language
        validated = questionnaire.languages.get(seen)
        forms.append(
            RecordForm(
                title=form.title,
                key=questionnaire.key,
                version=questionnaire.version,
                content_hash=questionnaire.content_hash,
                validated=_("validated translation")
                if validated and validated.validated
                else _("project translation, not validated"),
                lines=tuple(
                    RecordLine(
                        str(line.number or index), line.text_seen, line.answer, states[line.state], line.state
                    )
                    for index, line in enumerate(form.lines, start=1)
                ),
                answered=form.answered_count,
                scores=_scores(data, form, version_id, words),
                flags=form.flags,
            )
        )
    return SessionRecord(
        data.client.code, name, _facts(data, words, name), tuple(forms), words.moment(generated)
    )
