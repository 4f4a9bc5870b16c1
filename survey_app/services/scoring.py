"""Scoring stored sessions: write `Score` and `ScoreFlag` rows, and re-score with a newer scorer on request.

Scores are computed by the pure domain scorer from the raw answers and the questionnaire version the session
was answered on. Re-scoring is an explicit command (`flask questionnaires rescore`) that records the scorer
version on every row it touches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import SCORER_VERSION, ScoreResult, score
from survey_app.models.assessment import Answer, AssessmentSession, Score, ScoreFlag, SessionQuestionnaire
from survey_app.models.base import table_of, utcnow
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.services.questionnaires import questionnaire_of

SessionAnswers = dict[str, Any]


def load_answers(
    session: DbSession, session_ids: Iterable[int], version_id: int
) -> dict[int, SessionAnswers]:
    """Raw answers of several sessions to one questionnaire version: session id -> item id -> value."""
    grouped: dict[int, SessionAnswers] = defaultdict(dict)
    rows = session.execute(
        select(Answer.session_id, Answer.item_id, Answer.value).where(
            Answer.questionnaire_version_id == version_id, Answer.session_id.in_(list(session_ids))
        )
    )
    for session_id, item_id, value in rows:
        grouped[session_id][item_id] = value
    return grouped


def score_session(
    session: DbSession,
    assessment: AssessmentSession,
    answers: Mapping[int, SessionAnswers] | None = None,
    *,
    first: bool = False,
) -> dict[str, ScoreResult]:
    """Score every questionnaire of a session and store the results; returns key -> result.

    ``answers`` (version id -> item id -> value) saves reading back what the caller has just stored;
    ``first`` says the session has no scores or flags yet (it is being submitted), so none are looked up.
    """
    results = {}
    for given in assessment.questionnaires:
        row = given.questionnaire_version
        questionnaire = questionnaire_of(row)
        if answers is None:
            given_answers = load_answers(session, [assessment.id], row.id).get(assessment.id, {})
        else:
            given_answers = dict(answers.get(row.id, {}))
        result = score(questionnaire, given_answers)
        store_results(session, questionnaire, row.id, {assessment.id: result}, first=first)
        results[row.key] = result
    return results


def store_results(
    session: DbSession,
    questionnaire: Questionnaire,
    version_id: int,
    results: dict[int, ScoreResult],
    *,
    first: bool = False,
) -> int:
    """Write scores and flags for many sessions of one version; returns how many score values changed.

    Existing rows are updated in place (with the current scorer version), missing ones inserted. Flags that
    are no longer raised are removed unless a counsellor has acknowledged them; acknowledged flags are kept.
    With ``first`` the sessions are known to have no scores or flags yet, and none are looked up.
    """
    if not results:
        return 0
    session_ids = list(results)
    existing = (
        {}
        if first
        else {
            (row.session_id, row.scale_id): row
            for row in session.execute(
                select(
                    Score.id,
                    Score.session_id,
                    Score.scale_id,
                    Score.value,
                    Score.band,
                    Score.prorated,
                    Score.missing_count,
                    Score.scorer_version,
                ).where(Score.questionnaire_version_id == version_id, Score.session_id.in_(session_ids))
            )
        }
    )
    now = utcnow()
    inserts, updates = [], []
    changed = 0
    for session_id, result in results.items():
        for scale_id, scale_score in result.scales.items():
            values = {
                "value": scale_score.value,
                "band": scale_score.band,
                "prorated": scale_score.prorated,
                "missing_count": scale_score.missing,
                "scorer_version": result.scorer_version,
                "scored_at": now,
            }
            old = existing.get((session_id, scale_id))
            if old is None:
                inserts.append(
                    {
                        "session_id": session_id,
                        "questionnaire_version_id": version_id,
                        "scale_id": scale_id,
                        **values,
                    }
                )
                changed += 1
                continue
            same_value = (old.value, old.band, old.prorated, old.missing_count) == (
                scale_score.value,
                scale_score.band,
                scale_score.prorated,
                scale_score.missing,
            )
            if not same_value:
                changed += 1
            if not same_value or old.scorer_version != result.scorer_version:
                updates.append({"id": old.id, **values})
    if inserts:
        session.execute(insert(table_of(Score)), inserts)
    if updates:
        session.execute(update(Score), updates)  # bulk UPDATE by primary key
    _store_flags(session, questionnaire, version_id, results, now, first=first)
    return changed


def _store_flags(
    session: DbSession,
    questionnaire: Questionnaire,
    version_id: int,
    results: dict[int, ScoreResult],
    now: Any,
    *,
    first: bool,
) -> None:
    severity = {flag.id: flag.severity for flag in questionnaire.flags}
    existing = (
        {}
        if first
        else {
            (session_id, flag_id): acknowledged
            for session_id, flag_id, acknowledged in session.execute(
                select(ScoreFlag.session_id, ScoreFlag.flag_id, ScoreFlag.acknowledged_at).where(
                    ScoreFlag.questionnaire_version_id == version_id, ScoreFlag.session_id.in_(list(results))
                )
            )
        }
    )
    raised = {(session_id, flag_id) for session_id, result in results.items() for flag_id in result.flags}
    new = [
        {
            "session_id": session_id,
            "questionnaire_version_id": version_id,
            "flag_id": flag_id,
            "severity": severity[flag_id],
            "raised_at": now,
        }
        for session_id, flag_id in sorted(raised - set(existing))
    ]
    if new:
        session.execute(insert(table_of(ScoreFlag)), new)
    for session_id, flag_id in set(existing) - raised:
        if existing[(session_id, flag_id)] is None:
            session.execute(
                delete(ScoreFlag).where(
                    ScoreFlag.session_id == session_id,
                    ScoreFlag.questionnaire_version_id == version_id,
                    ScoreFlag.flag_id == flag_id,
                )
            )


@dataclass
class RescoreBatch:
    """One chunk of sessions of one questionnaire version to re-score."""

    version: QuestionnaireVersion
    session_ids: list[int]


@dataclass
class RescoreReport:
    """Totals of a re-scoring run."""

    sessions: int = 0
    changed_scores: int = 0
    scorer_version: str = SCORER_VERSION
    versions: set[str] = field(default_factory=set)


def plan_rescore(
    session: DbSession, *, key: str | None = None, chunk_size: int = 2000
) -> Iterator[RescoreBatch]:
    """Chunks of submitted sessions per questionnaire version, for `rescore_batch` (the caller commits)."""
    versions = select(QuestionnaireVersion).order_by(QuestionnaireVersion.key, QuestionnaireVersion.version)
    if key is not None:
        versions = versions.where(QuestionnaireVersion.key == key)
    for version in session.scalars(versions).all():
        ids = session.scalars(
            select(SessionQuestionnaire.session_id)
            .join(AssessmentSession, AssessmentSession.id == SessionQuestionnaire.session_id)
            .where(
                SessionQuestionnaire.questionnaire_version_id == version.id,
                AssessmentSession.status == "submitted",
            )
            .order_by(SessionQuestionnaire.session_id)
        ).all()
        for start in range(0, len(ids), chunk_size):
            yield RescoreBatch(version, list(ids[start : start + chunk_size]))


def count_rescore_sessions(session: DbSession, *, key: str | None = None) -> int:
    """How many (session, questionnaire) pairs a re-scoring run will visit."""
    query = (
        select(func.count())
        .select_from(SessionQuestionnaire)
        .join(AssessmentSession, AssessmentSession.id == SessionQuestionnaire.session_id)
        .where(AssessmentSession.status == "submitted")
    )
    if key is not None:
        query = query.join(QuestionnaireVersion).where(QuestionnaireVersion.key == key)
    return session.scalar(query) or 0


def rescore_batch(session: DbSession, batch: RescoreBatch, report: RescoreReport) -> None:
    """Re-score one chunk with the current scorer and store what changed."""
    questionnaire = questionnaire_of(batch.version)
    answers = load_answers(session, batch.session_ids, batch.version.id)
    results = {
        session_id: score(questionnaire, answers.get(session_id, {})) for session_id in batch.session_ids
    }
    report.changed_scores += store_results(session, questionnaire, batch.version.id, results)
    report.sessions += len(batch.session_ids)
    report.versions.add(f"{batch.version.key} v{batch.version.version}")
