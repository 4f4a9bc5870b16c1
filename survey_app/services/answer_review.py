"""Item-level answers of one session, with the exact question text and version the client saw.

Texts come from the stored questionnaire version the session was answered on, in the session's language (what
was on the client's screen); the counsellor's own language is added beside it when it differs. Items hidden by
skip rules are shown as not asked, never as missing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Item, ItemType, Questionnaire, localise
from survey_app.domain.scoring import hidden_items
from survey_app.models.assessment import Answer, AssessmentSession, ScoreFlag, SessionQuestionnaire
from survey_app.services.stored_versions import questionnaires_by_id

#: How an item stands in the session.
ANSWERED, DECLINED, UNANSWERED, NOT_ASKED = "answered", "declined", "unanswered", "not_asked"


@dataclass(frozen=True)
class AnswerLine:
    """One item: what the client read, what they answered, and how it stands."""

    item_id: str
    number: int | None
    text_seen: str
    text_own_language: str | None
    answer: str
    answer_own_language: str | None
    code: Any
    state: str


@dataclass(frozen=True)
class QuestionnaireAnswers:
    """One questionnaire of the session, as answered."""

    questionnaire: Questionnaire
    title: str
    lines: tuple[AnswerLine, ...]
    flags: tuple[str, ...]

    @property
    def answered_count(self) -> int:
        """How many items carry an answer (declined ones included)."""
        return sum(line.state in (ANSWERED, DECLINED) for line in self.lines)


def _option_text(item: Item, code: Any, language: str) -> str:
    option = item.option(code) if isinstance(code, int) and not isinstance(code, bool) else None
    return localise(option.label, language) if option else str(code)


def answer_text(item: Item, value: Any, language: str) -> str:
    """An answer in words in `language`: option labels, numbers with their unit, dates and text as given."""
    if item.type is ItemType.MULTIPLE_CHOICE and isinstance(value, list):
        return "; ".join(_option_text(item, code, language) for code in value)
    if item.type.is_choice or (item.type.is_number and value in item.missing_codes):
        return _option_text(item, value, language)
    if item.type.is_number:
        unit = localise(item.unit, language)
        return f"{value} {unit}".strip()
    return str(value)


def _line(item: Item, answers: dict[str, Any], hidden: frozenset[str], seen: str, own: str) -> AnswerLine:
    other = own if own != seen else None
    text_other = localise(item.text, other) if other else None
    if item.id in hidden:
        return AnswerLine(
            item.id, item.number, localise(item.text, seen), text_other, "", None, None, NOT_ASKED
        )
    if item.id not in answers or answers[item.id] is None:
        return AnswerLine(
            item.id, item.number, localise(item.text, seen), text_other, "", None, None, UNANSWERED
        )
    value = answers[item.id]
    declined = isinstance(value, int) and value in item.missing_codes
    return AnswerLine(
        item.id,
        item.number,
        localise(item.text, seen),
        text_other,
        answer_text(item, value, seen),
        answer_text(item, value, other) if other else None,
        value,
        DECLINED if declined else ANSWERED,
    )


def session_answers(
    session: DbSession, assessment: AssessmentSession, own_language: str
) -> list[QuestionnaireAnswers]:
    """Every questionnaire of a session with every item, in the order the client was given them."""
    version_ids = list(
        session.scalars(
            select(SessionQuestionnaire.questionnaire_version_id)
            .where(SessionQuestionnaire.session_id == assessment.id)
            .order_by(SessionQuestionnaire.position)
        )
    )
    versions = questionnaires_by_id(session, version_ids)
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    for version_id, item_id, value in session.execute(
        select(Answer.questionnaire_version_id, Answer.item_id, Answer.value).where(
            Answer.session_id == assessment.id
        )
    ):
        answers[version_id][item_id] = value
    flags: dict[int, list[str]] = defaultdict(list)
    for version_id, flag_id in session.execute(
        select(ScoreFlag.questionnaire_version_id, ScoreFlag.flag_id).where(
            ScoreFlag.session_id == assessment.id
        )
    ):
        flags[version_id].append(flag_id)
    seen = assessment.language
    result = []
    for version_id in version_ids:
        questionnaire = versions[version_id]
        given = answers.get(version_id, {})
        hidden = hidden_items(questionnaire, given)
        labels = {flag.id: localise(flag.label, own_language) for flag in questionnaire.flags}
        result.append(
            QuestionnaireAnswers(
                questionnaire,
                localise(questionnaire.title, seen),
                tuple(_line(item, given, hidden, seen, own_language) for item in questionnaire.items),
                tuple(labels.get(flag_id, flag_id) for flag_id in flags.get(version_id, [])),
            )
        )
    return result
