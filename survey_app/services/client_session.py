"""Where a client is in their session: each questionnaire's screens, answers, hidden items and progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import hidden_items
from survey_app.models.assessment import AssessmentSession
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.services.client_forms import Screen, build_pages, build_screens, screen_is_visible
from survey_app.services.questionnaires import questionnaire_of
from survey_app.services.responses import answers_by_version

__all__ = ["QuestionnaireState", "resume_point", "session_states"]


@dataclass(frozen=True)
class QuestionnaireState:
    """One questionnaire of the session with the client's answers so far."""

    position: int
    row: QuestionnaireVersion
    questionnaire: Questionnaire
    answers: dict[str, Any]

    @cached_property
    def screens(self) -> tuple[Screen, ...]:
        """Every screen of the questionnaire."""
        return build_screens(self.questionnaire)

    @cached_property
    def pages(self) -> tuple[range, ...]:
        """The screens grouped into the pages they are sent in."""
        return build_pages(self.screens)

    @cached_property
    def hidden(self) -> frozenset[str]:
        """Items the skip rules hide for the answers so far."""
        return hidden_items(self.questionnaire, self.answers)

    @cached_property
    def visible_screens(self) -> tuple[int, ...]:
        """Indexes of the screens shown."""
        return tuple(s.index for s in self.screens if screen_is_visible(s, self.hidden))

    @cached_property
    def shown_items(self) -> tuple[str, ...]:
        """Ids of the items asked (not hidden)."""
        return tuple(item.id for item in self.questionnaire.items if item.id not in self.hidden)

    @property
    def answered(self) -> int:
        """How many asked items have an answer (declining to answer counts as an answer here)."""
        return sum(1 for item_id in self.shown_items if self.answers.get(item_id) not in (None, []))

    @property
    def started(self) -> bool:
        """True once any item has an answer."""
        return self.answered > 0

    @property
    def complete(self) -> bool:
        """True when every asked item has an answer."""
        return self.answered == len(self.shown_items)

    def screen_of(self, item_id: str) -> int:
        """The index of the screen that asks the item."""
        return next(s.index for s in self.screens if any(item.id == item_id for item in s.items))

    def first_open_screen(self) -> int:
        """The first shown screen with an unanswered item (the first screen when none is answered)."""
        if not self.started:
            return self.visible_screens[0] if self.visible_screens else 0
        for index in self.visible_screens:
            screen = self.screens[index]
            if any(
                item.id not in self.hidden and self.answers.get(item.id) in (None, [])
                for item in screen.items
            ):
                return index
        return self.visible_screens[-1] if self.visible_screens else 0


def session_states(session: DbSession, assessment: AssessmentSession) -> list[QuestionnaireState]:
    """Every questionnaire of the session, in order, with its stored answers."""
    stored = answers_by_version(session, assessment)
    return [
        QuestionnaireState(
            position=given.position,
            row=given.questionnaire_version,
            questionnaire=questionnaire_of(given.questionnaire_version),
            answers=stored.get(given.questionnaire_version_id, {}),
        )
        for given in assessment.questionnaires
    ]


def resume_point(states: Sequence[QuestionnaireState]) -> tuple[int, int] | None:
    """(questionnaire position, screen) where the client carries on, or None when everything is answered."""
    for state in states:
        if not state.complete:
            return state.position, state.first_open_screen()
    return None
