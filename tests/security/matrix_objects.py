"""What the access matrix puts in each URL parameter and form, and how it names what came back.

Objects are relative to the principal: "own" is the principal's own (their client, their batch, their
organisation's project), "other" is someone else's (the other counsellor's client, another organisation's
project), "missing" does not exist. On a route with several object parameters, "other" swaps every one
and "missing" the last one that can be missing (so ``/clients/<own>/sessions/<missing>`` is tried).

A new URL parameter needs an entry in ``PARAMETERS`` (or ``ENDPOINT_PARAMETERS`` when its meaning depends
on the route); a state-changing route that needs more than the CSRF token to succeed gets a body in
``BODIES``; a route that reads an object from the cookie session (the invitation a link left there) gets
it from ``SESSION_OBJECTS``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from survey_app.services.programme_admin import timepoint_fingerprint
from survey_app.web.auth.invite import INVITATION_KEY
from tests.builders import document, dump, text
from tests.conftest import STAFF_PASSWORD
from tests.security.principals import Principal
from tests.security.world import MISSING_CODE, MISSING_ID, MISSING_UUID, Side, World

RELATIONS = ("own", "other", "missing")
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def side(world: World, principal: Principal, relation: str) -> Side:
    """The principal's own side of the organisation, or the other one."""
    own_is_a = principal.home == "a"
    return world.a if (relation == "own") == own_is_a else world.b


def _batch(world: World, principal: Principal, relation: str) -> str:
    mine = world.batch_of(principal.user) or world.batches[world.a.counsellor.id]
    if relation == "own":
        return mine.public_id
    others = [batch for batch in world.batches.values() if batch.id != mine.id]
    return others[0].public_id


@dataclass(frozen=True)
class Provider:
    """The value of one parameter for each relation it has (None: that relation does not apply)."""

    own: Callable[[World, Principal], Any]
    other: Callable[[World, Principal], Any] | None = None
    missing: Any = None

    def relations(self) -> tuple[str, ...]:
        """Which of own, other and missing this parameter can be."""
        return tuple(
            name for name, given in zip(RELATIONS, (True, self.other, self.missing), strict=True) if given
        )

    def value(self, world: World, principal: Principal, relation: str) -> Any:
        """The parameter's value for ``relation`` (own where this parameter has no such relation)."""
        if relation == "other" and self.other is not None:
            return self.other(world, principal)
        if relation == "missing" and self.missing is not None:
            return self.missing
        return self.own(world, principal)


def _on_side(attribute: Callable[[Side], Any]) -> Provider:
    return Provider(
        own=lambda w, p: attribute(side(w, p, "own")),
        other=lambda w, p: attribute(side(w, p, "other")),
        missing=MISSING_UUID,
    )


CLIENT_CODE = Provider(
    own=lambda w, p: side(w, p, "own").client.code,
    other=lambda w, p: side(w, p, "other").client.code,
    missing=MISSING_CODE,
)
#: URL parameters by name: what each names.
PARAMETERS: dict[str, Provider] = {
    "code": CLIENT_CODE,
    "client_code": CLIENT_CODE,
    "project_id": Provider(lambda w, p: w.home.project.id, lambda w, p: w.elsewhere.project.id, MISSING_ID),
    "user_id": Provider(lambda w, p: w.home.member.id, lambda w, p: w.elsewhere.member.id, MISSING_ID),
    "recipient_id": Provider(
        lambda w, p: w.home.recipient.id, lambda w, p: w.elsewhere.recipient.id, MISSING_ID
    ),
    "site_id": Provider(lambda w, p: w.home.site.id, lambda w, p: w.elsewhere.site.id, MISSING_ID),
    "programme_id": Provider(
        lambda w, p: w.home.programme.id, lambda w, p: w.elsewhere.programme.id, MISSING_ID
    ),
    "timepoint_id": Provider(
        lambda w, p: w.home.programme.timepoints[0].id,
        lambda w, p: w.elsewhere.programme.timepoints[0].id,
        MISSING_ID,
    ),
    "language": Provider(lambda w, p: "nl", missing="xx"),
    "n": Provider(lambda w, p: 0, missing=99),
    "screen": Provider(lambda w, p: 0),
    "token": Provider(lambda w, p: w.a.link_token, missing="x" * 43),
    "filename": Provider(lambda w, p: "css/app.css", missing="css/no-such-file.css"),
    "draft_id": Provider(lambda w, p: w.home.draft.id, lambda w, p: w.elsewhere.draft.id, MISSING_ID),
    "device": Provider(lambda w, p: "tablet", missing="watch"),
}
SUBMITTED_SESSION = _on_side(lambda s: s.submitted.public_id)
#: Parameters whose meaning depends on the route: (endpoint or blueprint, parameter).
ENDPOINT_PARAMETERS: dict[tuple[str, str], Provider] = {
    ("api", "public_id"): _on_side(lambda s: s.open_session.public_id),
    ("counsellor", "public_id"): SUBMITTED_SESSION,
    ("reports.record_pdf", "public_id"): SUBMITTED_SESSION,
    ("reports", "public_id"): Provider(
        lambda w, p: _batch(w, p, "own"), lambda w, p: _batch(w, p, "other"), MISSING_UUID
    ),
    ("research", "public_id"): Provider(
        lambda w, p: w.home.run.public_id, lambda w, p: w.elsewhere.run.public_id, MISSING_UUID
    ),
    ("admin.preview_end", "device"): Provider(lambda w, p: "phone", missing="watch"),  # both devices tried
    ("admin.renew", "user_id"): Provider(
        lambda w, p: w.invited.id, lambda w, p: w.elsewhere.member.id, MISSING_ID
    ),
    ("admin.reactivate", "user_id"): Provider(
        lambda w, p: w.disabled.id, lambda w, p: w.elsewhere.member.id, MISSING_ID
    ),
    ("admin.timepoint_remove", "timepoint_id"): Provider(
        lambda w, p: w.unused_timepoint.id, lambda w, p: w.elsewhere.programme.timepoints[0].id, MISSING_ID
    ),
    ("auth.invitation_link", "token"): Provider(lambda w, p: w.invitation_token, missing="x" * 43),
}
ALERT = Provider(
    lambda w, p: side(w, p, "own").alert.id, lambda w, p: side(w, p, "other").alert.id, MISSING_ID
)
#: Objects a route takes from its form rather than its URL (kept under this key among the objects).
BODY_KEY = "body"
BODY_OBJECTS: dict[str, Provider] = {"counsellor.acknowledge": ALERT}
#: Objects a route reads from the cookie session: endpoint -> (session key, provider); kept under SESSION_KEY.
SESSION_KEY = "cookie_session"
SESSION_OBJECTS: dict[str, tuple[str, Provider]] = {
    "auth.accept_invite": (INVITATION_KEY, ENDPOINT_PARAMETERS[("auth.invitation_link", "token")]),
}


def provider_for(rule: Rule, parameter: str) -> Provider:
    """The provider of one URL parameter of a route; a failure names what to add for a new one."""
    blueprint = rule.endpoint.rpartition(".")[0]
    for key in ((rule.endpoint, parameter), (blueprint, parameter)):
        if key in ENDPOINT_PARAMETERS:
            return ENDPOINT_PARAMETERS[key]
    if parameter in PARAMETERS:
        return PARAMETERS[parameter]
    raise AssertionError(
        f"The access matrix has no object for URL parameter <{parameter}> of {rule.endpoint} ({rule.rule}): "
        "add a Provider to PARAMETERS or ENDPOINT_PARAMETERS in tests/security/matrix_objects.py."
    )


def _providers(rule: Rule) -> list[tuple[str, Provider]]:
    names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule)  # in the order they appear in the path
    found = [(name, provider_for(rule, name)) for name in names]
    if rule.endpoint in BODY_OBJECTS:
        found.append((BODY_KEY, BODY_OBJECTS[rule.endpoint]))
    if rule.endpoint in SESSION_OBJECTS:
        found.append((SESSION_KEY, SESSION_OBJECTS[rule.endpoint][1]))
    return found


def relations_of(rule: Rule) -> tuple[str, ...]:
    """The relations a route is tried with (just "own" when it names no object)."""
    present = {relation for _, provider in _providers(rule) for relation in provider.relations()}
    return tuple(relation for relation in RELATIONS if relation in present) or ("own",)


def objects_for(rule: Rule, world: World, principal: Principal, relation: str) -> dict[str, Any]:
    """Every object of a route for one relation: URL parameters by name, a form's object under BODY_KEY."""
    providers = _providers(rule)
    missing_at = max(
        (index for index, (_, provider) in enumerate(providers) if provider.missing is not None), default=-1
    )
    values: dict[str, Any] = {}
    for index, (name, provider) in enumerate(providers):
        wanted = relation if relation != "missing" or index == missing_at else "own"
        values[name] = provider.value(world, principal, wanted)
    return values


def nested_other_objects(rule: Rule, world: World, principal: Principal) -> dict[str, Any] | None:
    """The route's objects with someone else's last object inside the principal's own ones
    (``/clients/<own>/sessions/<other's>``); None when fewer than two of its objects have an owner."""
    providers = _providers(rule)
    owned = [index for index, (_, provider) in enumerate(providers) if provider.other is not None]
    if len(owned) < 2:
        return None
    return {
        name: provider.value(world, principal, "other" if index == owned[-1] else "own")
        for index, (name, provider) in enumerate(providers)
    }


def url_values(objects: dict[str, Any]) -> dict[str, Any]:
    """The objects that go into the route's URL."""
    return {name: value for name, value in objects.items() if name not in (BODY_KEY, SESSION_KEY)}


def holding(principal: Principal, rule: Rule, objects: dict[str, Any]) -> Principal:
    """The principal, with the object the route reads from the cookie session put there (if it reads one)."""
    if SESSION_KEY not in objects:
        return principal
    key = SESSION_OBJECTS[rule.endpoint][0]
    return replace(principal, session_data={**principal.session_data, key: objects[SESSION_KEY]})


# ---------------------------------------------------------------- bodies that succeed when access is allowed
Body = Callable[[World, Principal, dict[str, Any]], dict[str, Any]]


def _consent(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    return {"care": "yes", "court": "yes", "research": "no", "client_agreed": "y"}


def _register(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    return {
        "site": str(side(w, p, "own").client.site_id),
        "programme": str(w.programme.id),
        "intake_date": "2026-03-02",
        "preferred_language": "nl",
        "counsellor": "",
    }


def _alert_recipient(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    """The admin names site B's counsellor for every site; a site lead names site A's for site A (theirs)."""
    if p.name == "lead":
        return {"staff": str(w.a.counsellor.id), "site": str(w.site_a.id), "severities": "urgent"}
    return {"staff": str(w.b.counsellor.id), "site": "", "severities": "urgent"}


def _move(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    """To the third site, where the staff of both sides work; a site lead chooses themselves there."""
    return {"site": str(w.site_c.id), "counsellor": str(p.user.id) if p.user else ""}


def _hand_over(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    return {"timepoint_id": str(w.timepoints[1].id), "return_to": "/"}


def _timepoint(w: World, timepoint_id: Any) -> Any:
    holdings = (w.home, w.elsewhere)
    found = [tp for h in holdings for tp in h.programme.timepoints if tp.id == timepoint_id]
    return found[0] if found else None


def _timepoint_form(label: str, offset: int, keys: list[str]) -> dict[str, Any]:
    """A timepoint's form, confirmed: its schedule and a battery of ``keys`` (all core)."""
    form: dict[str, Any] = {
        "label": label,
        "anchor": "intake",
        "offset_days": str(offset),
        "window_before_days": "0",
        "window_after_days": "14",
        "confirm": "yes",
    }
    for index, key in enumerate(keys):
        row = f"battery-{index}-"
        form |= {row + "key": key, row + "include": "y", row + "version": "", row + "core": "y"}
        form[row + "order"] = str(index + 1)
    return form


def _timepoint_new(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    return {**_timepoint_form("2 years", 730, ["who5"]), "key": "t24m", "fingerprint": "new"}


def _timepoint_edit(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    timepoint = _timepoint(w, o["timepoint_id"])
    keys = [entry.questionnaire_key for entry in timepoint.battery] if timepoint else ["who5"]
    offset = timepoint.offset_days if timepoint else 0
    form = _timepoint_form("Intake (renamed)", offset, keys)
    return {**form, "fingerprint": timepoint_fingerprint(timepoint) if timepoint else ""}


def _publish(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    drafts = {holdings.draft.id: holdings.draft for holdings in (w.home, w.elsewhere)}
    draft = drafts.get(o["draft_id"])
    return {"content_hash": draft.content_hash if draft else "0" * 64}


def _preview_choices(w: World, p: Principal, o: dict[str, Any]) -> dict[str, Any]:
    frame = f"/admin/questionnaires/drafts/{o['draft_id']}/frame/{o['device']}/nl/0"
    return {"large": "on", "next": frame}


#: The password the invited staff member chooses (long, and on no list of common passwords).
INVITED_PASSWORD = "quilted otter marmalade 1987 harbour"
#: A new questionnaire pasted into the upload form (another key than the world's drafts).
UPLOADED_SOURCE = dump(document(key="matrix_upload", title=text("Uploaded"), short_title=text("Up")))
SITE_SETTINGS = {"languages": ["nl", "fr"], "default_language": "nl", "client_idle_minutes": "10"}
#: Bodies of the admin forms.
ADMIN_BODIES: dict[str, Body] = {
    "admin.invite": lambda w, p, o: {
        "email": "new.colleague@example.org",
        "display_name": "New Colleague",
        "role": "counsellor",
        "sites": str(w.site_a.id),
    },
    "admin.staff_edit": lambda w, p, o: {"role": "court_liaison"},
    "admin.site_new": lambda w, p, o: {"code": "MATRIX-1", "name": "Matrix site", **SITE_SETTINGS},
    "admin.site_edit": lambda w, p, o: {"name": "Ghent (renamed)", **SITE_SETTINGS},
    "admin.retention": lambda w, p, o: {"retention_months": "60", "research_legal_basis": "GDPR art. 9"},
    "admin.programme_new": lambda w, p, o: {"key": "aftercare", "name": "Aftercare", "description": "After"},
    "admin.programme_edit": lambda w, p, o: {"name": "Treatment Court (renamed)", "description": "Ghent"},
    "admin.timepoint_new": _timepoint_new,
    "admin.timepoint_edit": _timepoint_edit,
    "admin.upload": lambda w, p, o: {"source": UPLOADED_SOURCE},
    "admin.publish": _publish,
    "admin.preview_choices": _preview_choices,
    "admin.preview_step": lambda w, p, o: {"nav": "next"},
    "auth.accept_invite": lambda w, p, o: {"password": INVITED_PASSWORD, "repeat": INVITED_PASSWORD},
}
BODIES: dict[str, Body] = {
    **ADMIN_BODIES,
    "auth.sign_in": lambda w, p, o: {"email": w.a.counsellor.email, "password": STAFF_PASSWORD},
    "auth.second_factor": lambda w, p, o: {"code": "000000"},
    "auth.enrol": lambda w, p, o: {"code": "000000"},
    "auth.new_recovery_codes": lambda w, p, o: {"code": "000000"},
    "client.enter_code": lambda w, p, o: {"code": w.b.code},
    "client.language": lambda w, p, o: {"language": "nl", "next": "/client/"},
    "client.display": lambda w, p, o: {"large": "on"},
    "client.leave": lambda w, p, o: {"password": STAFF_PASSWORD},
    "client.unlock": lambda w, p, o: {"password": STAFF_PASSWORD},
    "client.save_screen": lambda w, p, o: {"shown": "mood", "mood": "2", "nav": "next"},
    "client.submit": lambda w, p, o: {"idempotency_key": secrets.token_urlsafe(24)},
    "client_mode.hand_over": _hand_over,
    "client_mode.issue_code": _hand_over,
    "consent.change_consent": _consent,
    "counsellor.acknowledge": lambda w, p, o: {"alert": str(o[BODY_KEY]), "note": "Called them; safe."},
    "counsellor.edit_client": lambda w, p, o: {"preferred_language": "fr", "counsellor": ""},
    "counsellor.edit_anchors": lambda w, p, o: {"anchor_intake": "2026-01-12"},
    "counsellor.add_session_note": lambda w, p, o: {"body": "Talked it through."},
    "counsellor.set_status": lambda w, p, o: {"status": "paused", "reason": "Holiday"},
    "counsellor.move": _move,
    "counsellor.register": _register,
    "counsellor.alert_settings": lambda w, p, o: {"site_leads": "all"},
    "counsellor.add_alert_recipient": _alert_recipient,
    "reports.start": lambda w, p, o: {"kind": "counsellor", "language": "en", "site": "", "timepoint": ""},
    "reports.settings": lambda w, p, o: {"show_names": "y"},
    "research.create": lambda w, p, o: {"name": "New study", "description": "Outcomes"},
    "research.allowances": lambda w, p, o: {"free_text": "on"},
    "research.members": lambda w, p, o: {"email": w.spare_researcher.email},
    "research.export": lambda w, p, o: {"layout": "long", "format": "csv", "label_language": "en"},
}
#: JSON bodies of the API routes.
JSON_BODIES: dict[str, Body] = {
    "api.save_answers": lambda w, p, o: {
        "answers": [{"questionnaire": "tablet_form", "version": 1, "item": "mood", "value": 2}]
    },
    "api.submit": lambda w, p, o: {"idempotency_key": secrets.token_urlsafe(24), "answers": []},
}


# ---------------------------------------------------------------- what came back
def outcome(response: TestResponse, endpoint: str, principal: Principal) -> str:
    """The response as a class: ok, signin, closed, confined, or the status code."""
    status = response.status_code
    if 300 <= status < 400:
        target = urlsplit(response.location)
        if target.path == "/auth/sign-in":
            return "signin"
        stopped = parse_qs(target.query).get("why") == ["stopped"]
        if target.path == "/client/closed" and not stopped:
            return "closed"
        in_client_area = endpoint.startswith(("client.", "api."))
        if principal.in_client_mode and not in_client_area and target.path == "/client/":
            return "confined"
        return "ok"
    return "ok" if 200 <= status < 300 else str(status)
