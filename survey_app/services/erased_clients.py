"""Erased clients: what erasure keeps of them is for research exports only.

Erasure (``services/gdpr.py``) may keep a client's pseudonymised research data (sessions, answers without
free text, scores), the consent history and the court disclosures, all still linked to the ``clients`` row
(with a code nobody holds, at the same site). A ``client_erasures`` row marks such a client. Every staff
screen and the court's pages leave them out with ``not_erased()``: the caseload, the client and session
pages, dashboards, alerts, reports and the court list and report. Only the research exports read them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from survey_app.models.people import Client
from survey_app.models.security import ClientErasure

__all__ = ["not_erased"]


def not_erased() -> ColumnElement[bool]:
    """Clients who have not been erased (a condition over ``Client``)."""
    return Client.id.not_in(select(ClientErasure.client_id))
