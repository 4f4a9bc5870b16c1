"""The data model: SQLAlchemy 2 typed models, one module per aggregate.

Importing this package registers every table on ``survey_app.extensions.Base.metadata``.
"""

from survey_app.models.admin import QuestionnaireDraft, StaffInvitation
from survey_app.models.assessment import (
    Answer,
    AnswerClear,
    AssessmentSession,
    Score,
    ScoreFlag,
    SessionQuestionnaire,
    Submission,
)
from survey_app.models.audit import AuditEvent
from survey_app.models.base import LANGUAGES, Base, utcnow
from survey_app.models.client_access import ClientAccessCode, ClientCodeAttempt, ClientModeSession
from survey_app.models.people import (
    Client,
    ClientAnchorDate,
    ClientIdentity,
    StaffSession,
    StaffSiteMembership,
    StaffUser,
)
from survey_app.models.programme import Organisation, Programme, Site, Timepoint, TimepointQuestionnaire
from survey_app.models.questionnaire import QuestionnaireKey, QuestionnaireVersion
from survey_app.models.reports import ReportBatch, ReportSettings
from survey_app.models.research import ExportProject, ExportProjectMember, ExportRun, ExportRunClient
from survey_app.models.security import (
    ClientErasure,
    ConsentRecord,
    CourtShare,
    PrivacySettings,
    StaffMfa,
    StaffRecoveryCode,
)
from survey_app.models.workspace import (
    AlertAcknowledgement,
    AlertRecipient,
    AlertSetting,
    ClientAnchorChange,
    ClientStatusChange,
    SessionNote,
)

__all__ = [
    "LANGUAGES",
    "AlertAcknowledgement",
    "AlertRecipient",
    "AlertSetting",
    "Answer",
    "AnswerClear",
    "AssessmentSession",
    "AuditEvent",
    "Base",
    "Client",
    "ClientAccessCode",
    "ClientAnchorChange",
    "ClientAnchorDate",
    "ClientCodeAttempt",
    "ClientErasure",
    "ClientIdentity",
    "ClientModeSession",
    "ClientStatusChange",
    "ConsentRecord",
    "CourtShare",
    "ExportProject",
    "ExportProjectMember",
    "ExportRun",
    "ExportRunClient",
    "Organisation",
    "PrivacySettings",
    "Programme",
    "QuestionnaireDraft",
    "QuestionnaireKey",
    "QuestionnaireVersion",
    "ReportBatch",
    "ReportSettings",
    "Score",
    "ScoreFlag",
    "SessionNote",
    "SessionQuestionnaire",
    "Site",
    "StaffInvitation",
    "StaffMfa",
    "StaffRecoveryCode",
    "StaffSession",
    "StaffSiteMembership",
    "StaffUser",
    "Submission",
    "Timepoint",
    "TimepointQuestionnaire",
    "utcnow",
]
