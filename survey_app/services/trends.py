"""A client's scores over time, per questionnaire and scale, with version breaks and the change from intake.

Scores are read as stored (never re-scored here) with the questionnaire version each session was answered on.
Two scores of different versions are joined only where the later version declares the scale comparable
(`scores_comparable`); otherwise the series carries a break and no change is computed across it. The change
from intake to the latest score uses the Reliable Change Index of the latest version's scale (and clinically
significant change where it has a cut-off); where the scale has no published parameters it says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.change import ReliableChange, ReliableChangeNotAvailable, reliable_change
from survey_app.domain.questionnaire import Questionnaire, Scale
from survey_app.domain.schedule import ScheduledTimepoint, TimepointState
from survey_app.domain.scoring import NotScored, why_not_scored
from survey_app.models.assessment import AssessmentSession, Score
from survey_app.questionnaires.diff import scores_comparable
from survey_app.services.stored_versions import questionnaires_by_id


@dataclass(frozen=True)
class ScorePoint:
    """One stored score of one scale in one submitted session."""

    session_id: int
    session_public_id: str
    submitted_at: dt.datetime
    timepoint_id: int | None
    version: int
    value: float | None
    band: str | None
    prorated: bool
    missing: int
    breaks_before: bool = False


@dataclass(frozen=True)
class ChangeSummary:
    """The change from the first score (intake where there is one) to the latest."""

    baseline: ScorePoint
    latest: ScorePoint
    comparable: bool
    reliable: ReliableChange | None

    @property
    def difference(self) -> float:
        """Latest minus baseline, in the scale's units."""
        return (self.latest.value or 0.0) - (self.baseline.value or 0.0)

    @property
    def rci_available(self) -> bool:
        """False when the scale has no published reliability parameters, or the versions do not compare."""
        return self.reliable is not None


@dataclass(frozen=True)
class ScaleTrend:
    """One scale's scores over time, how to read them (the latest version's scale), and the change."""

    questionnaire: Questionnaire
    scale: Scale
    points: tuple[ScorePoint, ...]
    change: ChangeSummary | None
    versions: dict[int, Questionnaire]

    def band_label(self, point: ScorePoint) -> dict[str, str]:
        """The texts of a point's band, from the version it was answered on."""
        questionnaire = self.versions.get(point.version, self.questionnaire)
        scale = questionnaire.scales_by_id.get(self.scale.id, self.scale)
        band = scale.band(point.band)
        return dict(band.label) if band else {}

    def not_scored_reason(self, point: ScorePoint) -> NotScored | None:
        """Why a point of a completed session has no score (None: it has one, or the reason is unknown)."""
        if point.value is not None:
            return None
        return why_not_scored(
            self.versions.get(point.version, self.questionnaire), self.scale.id, point.missing
        )


@dataclass(frozen=True)
class InstrumentTrend:
    """Every scale of one questionnaire given to the client."""

    key: str
    questionnaire: Questionnaire
    scales: tuple[ScaleTrend, ...]


@dataclass(frozen=True)
class StoredScore:
    """One stored score row of a client, with its session's facts."""

    session_id: int
    public_id: str
    submitted_at: dt.datetime
    timepoint_id: int | None
    questionnaire_version_id: int
    scale_id: str
    value: float | None
    band: str | None
    prorated: bool
    missing_count: int


def stored_scores(session: DbSession, client_id: int) -> list[StoredScore]:
    """Every score of a client's submitted sessions, oldest session first (one query)."""
    rows = session.execute(
        select(
            Score.session_id,
            AssessmentSession.public_id,
            AssessmentSession.submitted_at,
            AssessmentSession.started_at,
            AssessmentSession.timepoint_id,
            Score.questionnaire_version_id,
            Score.scale_id,
            Score.value,
            Score.band,
            Score.prorated,
            Score.missing_count,
        )
        .join(AssessmentSession, AssessmentSession.id == Score.session_id)
        .where(AssessmentSession.client_id == client_id, AssessmentSession.status == "submitted")
        .order_by(AssessmentSession.submitted_at, AssessmentSession.id)
    )
    return [
        StoredScore(
            session_id=row.session_id,
            public_id=row.public_id,
            submitted_at=row.submitted_at or row.started_at,
            timepoint_id=row.timepoint_id,
            questionnaire_version_id=row.questionnaire_version_id,
            scale_id=row.scale_id,
            value=row.value,
            band=row.band,
            prorated=row.prorated,
            missing_count=row.missing_count,
        )
        for row in rows
    ]


def trends_from(
    rows: Sequence[StoredScore], versions: Mapping[int, Questionnaire], first_timepoint_id: int | None = None
) -> list[InstrumentTrend]:
    """Every questionnaire and scale with scores, in the order the questionnaires were first given."""
    by_scale: dict[tuple[str, str], list[ScorePoint]] = defaultdict(list)
    by_key: dict[str, dict[int, Questionnaire]] = defaultdict(dict)
    for row in rows:
        questionnaire = versions[row.questionnaire_version_id]
        by_key[questionnaire.key][questionnaire.version] = questionnaire
        by_scale[(questionnaire.key, row.scale_id)].append(
            ScorePoint(
                row.session_id,
                row.public_id,
                row.submitted_at,
                row.timepoint_id,
                questionnaire.version,
                row.value,
                row.band,
                row.prorated,
                row.missing_count,
            )
        )
    return [_instrument(key, by_key[key], by_scale, first_timepoint_id) for key in by_key]


def client_trends(
    session: DbSession, client_id: int, first_timepoint_id: int | None = None
) -> list[InstrumentTrend]:
    """A client's trends, read from the database (two small queries)."""
    rows = stored_scores(session, client_id)
    versions = questionnaires_by_id(session, {row.questionnaire_version_id for row in rows})
    return trends_from(rows, versions, first_timepoint_id)


def _instrument(
    key: str,
    versions: dict[int, Questionnaire],
    by_scale: dict[tuple[str, str], list[ScorePoint]],
    first_timepoint_id: int | None,
) -> InstrumentTrend:
    latest = versions[max(versions)]
    scale_ids = [scale.id for scale in latest.scales] + sorted(
        {scale_id for (k, scale_id) in by_scale if k == key} - set(latest.scales_by_id)
    )
    trends = []
    for scale_id in scale_ids:
        points = by_scale.get((key, scale_id))
        if not points:
            continue
        owner = next(
            versions[v] for v in sorted(versions, reverse=True) if scale_id in versions[v].scales_by_id
        )
        marked = tuple(mark_breaks(points, versions, scale_id))
        trends.append(
            ScaleTrend(owner, owner.scale(scale_id), marked, change_from_intake(marked, versions, scale_id,
                                                                               first_timepoint_id), versions)
        )  # fmt: skip
    return InstrumentTrend(key, latest, tuple(trends))


def versions_comparable(versions: Mapping[int, Questionnaire], one: int, other: int, scale_id: str) -> bool:
    """True when a scale's scores on versions `one` and `other` may be compared (the newer declares it)."""
    if one == other:
        return True
    newer, older = max(one, other), min(one, other)
    questionnaire = versions.get(newer)
    return questionnaire is not None and scores_comparable(questionnaire, older, scale_id)


def mark_breaks(
    points: Iterable[ScorePoint], versions: dict[int, Questionnaire], scale_id: str
) -> list[ScorePoint]:
    """The points in order, each marked when it cannot be joined with the previous scored point."""
    marked: list[ScorePoint] = []
    previous: ScorePoint | None = None
    for point in points:
        breaks = previous is not None and not versions_comparable(
            versions, previous.version, point.version, scale_id
        )
        marked.append(_replace_break(point, breaks))
        if point.value is not None:
            previous = point
    return marked


def _replace_break(point: ScorePoint, breaks: bool) -> ScorePoint:
    if point.breaks_before == breaks:
        return point
    return ScorePoint(
        point.session_id, point.session_public_id, point.submitted_at, point.timepoint_id, point.version,
        point.value, point.band, point.prorated, point.missing, breaks,
    )  # fmt: skip


def change_from_intake(
    points: Sequence[ScorePoint],
    versions: dict[int, Questionnaire],
    scale_id: str,
    first_timepoint_id: int | None = None,
) -> ChangeSummary | None:
    """The change from the intake score (else the first score) to the latest; None with fewer than two."""
    scored = [point for point in points if point.value is not None]
    if len(scored) < 2:
        return None
    at_intake = [point for point in scored if first_timepoint_id and point.timepoint_id == first_timepoint_id]
    baseline = at_intake[0] if at_intake else scored[0]
    latest = scored[-1]
    if latest is baseline:
        return None
    comparable = versions_comparable(versions, baseline.version, latest.version, scale_id)
    reliable = None
    if comparable:
        scale = versions[latest.version].scale(scale_id)
        try:
            reliable = reliable_change(scale, baseline.value or 0.0, latest.value or 0.0)
        except ReliableChangeNotAvailable:
            reliable = None
    return ChangeSummary(baseline, latest, comparable, reliable)


def missed_waves(schedule: Sequence[ScheduledTimepoint]) -> list[ScheduledTimepoint]:
    """The timepoints whose window closed without a session (the gaps in every series)."""
    return [entry for entry in schedule if entry.state is TimepointState.MISSED and entry.target is not None]
