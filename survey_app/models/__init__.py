"""The data model: SQLAlchemy 2 typed models, one module per aggregate.

Importing this package registers every table on ``survey_app.extensions.Base.metadata``.
"""

from survey_app.models.assessment import (
    Answer,
    AssessmentSession,
    Score,
    ScoreFlag,
    SessionQuestionnaire,
    Submission,
)
from survey_app.models.audit import AuditEvent
from survey_app.models.base import LANGUAGES, Base, utcnow
from survey_app.models.people import (
    Client,
    ClientAnchorDate,
    ClientIdentity,
    StaffSession,
    StaffSiteMembership,
    StaffUser,
)
from survey_app.models.programme import Organisation, Programme, Site, Timepoint, TimepointQuestionnaire
from survey_app.models.questionnaire import QuestionnaireVersion

__all__ = [
    "LANGUAGES",
    "Answer",
    "AssessmentSession",
    "AuditEvent",
    "Base",
    "Client",
    "ClientAnchorDate",
    "ClientIdentity",
    "Organisation",
    "Programme",
    "QuestionnaireVersion",
    "Score",
    "ScoreFlag",
    "SessionQuestionnaire",
    "Site",
    "StaffSession",
    "StaffSiteMembership",
    "StaffUser",
    "Submission",
    "Timepoint",
    "TimepointQuestionnaire",
    "utcnow",
]
