"""The wide layout: one row per client, columns per timepoint (`who5_score_percentage_t0`, `..._t3m`, ...).

Scale columns carry `score_` (band columns `band_`) after the questionnaire key, so they do not share a name
with an item: in the TOP, `top_score_sharing_t0` is the scale and `top_sharing_t0` the item. `_Plan.add`
refuses a name given twice (ignoring case, as SPSS does).

Versions of a questionnaire share a column only where the later version declares its scores (or, for items,
the item) comparable with the earlier one (`comparable_with`), joined transitively; an item also needs the
same type and codes. Otherwise the later version gets its own columns, `<key>_v<N>_score_<scale>_<timepoint>`
and `<item>_v<N>_<timepoint>`; the codebook lists every join and every split. Column names follow the versions
and timepoints in scope (every version at every timepoint of the organisation's schedule, or of the timepoint
filter), never the data, so they are the same in every export with the same filters.

The client's `site` is their site at intake: where their first session was taken, whatever the filters, so a
client who moved later stays with the site they started at; `site_<timepoint>` is where each session was
taken. Clients are read in batches of `CLIENTS_PER_BATCH` (keyset on the client id), so memory stays flat.
Sessions outside the schedule (no timepoint) have no column here: they are in the long and scores layouts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import aliased

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Item, ItemType, Questionnaire, localise
from survey_app.domain.scoring import conditional_items, hidden_items, hideable_scales, rule_inputs
from survey_app.exports.table import NOT_ASKED, NOT_ASKED_LABEL, NUMBER, TEXT, Row, Variable
from survey_app.models.assessment import Answer, AssessmentSession, Score, SessionQuestionnaire
from survey_app.models.people import Client, ClientIdentity
from survey_app.models.programme import Programme, Site, Timepoint
from survey_app.questionnaires.diff import scores_comparable
from survey_app.services.exports.columns import (
    answer_value,
    calendar_date,
    check_not_asked_code,
    decode_raw,
    identifier_columns,
    identifier_variables,
    multiple_choice_width,
    option_labels,
    pseudonym_variable,
    text,
    whole,
)
from survey_app.services.exports.layouts import Table, questionnaires_of
from survey_app.services.exports.projects import ExportError
from survey_app.services.exports.selection import Selection, session_conditions

CLIENTS_PER_BATCH = 200


class _Groups:
    """Union-find over hashable nodes; the representative is the smallest node."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, node: Any) -> Any:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            node = self.parent[node]
        return node

    def join(self, a: Any, b: Any) -> None:
        first, second = sorted((self.find(a), self.find(b)))
        self.parent[second] = first


@dataclass
class _Plan:
    """Where each value goes: column index per (version id, scale or item id, timepoint key)."""

    variables: list[Variable] = field(default_factory=list)
    scores: dict[tuple[int, str, str], tuple[int, int | None]] = field(default_factory=dict)
    items: dict[tuple[int, str, str], int] = field(default_factory=dict)
    #: The calendar-date column of a date item, where calendar dates are allowed.
    item_dates: dict[tuple[int, str, str], int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    taken: set[str] = field(default_factory=set)

    def add(self, variable: Variable) -> int:
        """Add a column; ExportError if another column already has its name (SPSS ignores case)."""
        if variable.name.lower() in self.taken:
            raise ExportError(
                f"Two columns of the wide layout would both be named {variable.name}. Export the long or "
                "scores layout, and ask an administrator to rename the scale or item in the questionnaire.",
                "duplicate_column",
            )
        self.taken.add(variable.name.lower())
        self.variables.append(variable)
        return len(self.variables) - 1


def _scale_groups(versions: Sequence[Questionnaire], scale_id: str) -> _Groups:
    groups = _Groups()
    having = [q for q in versions if scale_id in q.scales_by_id]
    for newer in having:
        groups.find(newer.version)
        for older in having:
            if older.version < newer.version and scores_comparable(newer, older.version, scale_id):
                groups.join(newer.version, older.version)
    return groups


def _same_item(a: Item, b: Item) -> bool:
    return (a.type, [(o.code, o.missing) for o in a.options], a.minimum, a.maximum) == (
        b.type,
        [(o.code, o.missing) for o in b.options],
        b.minimum,
        b.maximum,
    )


def _item_groups(versions: Sequence[Questionnaire]) -> _Groups:
    groups = _Groups()
    by_version = {q.version: q for q in versions}
    for newer in versions:
        for item in newer.items:
            groups.find((newer.version, item.id))
        for declaration in newer.comparable_with:
            older = by_version.get(declaration.version)
            if older is None:
                continue
            for item in newer.items:
                before = older.items_by_id.get(declaration.items.get(item.id, item.id))
                if before is not None and _same_item(before, item):
                    groups.join((newer.version, item.id), (older.version, before.id))
    return groups


def _prefix(name: str, version: int, lowest: int) -> str:
    return name if version == lowest else f"{name}_v{version}"


def _plan_key(
    plan: _Plan,
    versions: list[tuple[int, Questionnaire]],
    timepoints: list[str],
    selection: Selection,
) -> None:
    language = selection.request.label_language
    questionnaires = [q for _, q in versions]
    ids = {q.version: vid for vid, q in versions}
    lowest = min(ids)
    key = questionnaires[0].key
    title = localise(questionnaires[0].short_title, language)
    scale_ids = list(dict.fromkeys(scale.id for q in questionnaires for scale in q.scales))
    for scale_id in scale_ids:
        groups = _scale_groups(questionnaires, scale_id)
        members: dict[int, list[int]] = defaultdict(list)
        for q in questionnaires:
            if scale_id in q.scales_by_id:
                members[groups.find(q.version)].append(q.version)
        for first, group in sorted(members.items()):
            if len(group) > 1:
                plan.notes.append(
                    f"{key} {scale_id}: versions {', '.join(map(str, group))} joined (declared comparable)"
                )
            elif len(members) > 1:
                plan.notes.append(
                    f"{key} {scale_id}: version {first} in columns of its own (not declared comparable)"
                )
            _plan_scale(
                plan,
                [(ids[v], by_version(questionnaires, v)) for v in group],
                scale_id,
                _prefix(key, first, lowest),
                title,
                timepoints,
                language,
            )
    if selection.request.include_items:
        _plan_items(plan, versions, timepoints, selection, lowest)


def by_version(questionnaires: Sequence[Questionnaire], version: int) -> Questionnaire:
    """The questionnaire with this version number."""
    return next(q for q in questionnaires if q.version == version)


def _plan_scale(
    plan: _Plan,
    group: list[tuple[int, Questionnaire]],
    scale_id: str,
    prefix: str,
    title: str,
    timepoints: list[str],
    language: str,
) -> None:
    latest = group[-1][1]
    scale = latest.scale(scale_id)
    label = localise(scale.label, language)
    versions = [q.version for _, q in group]
    hideable = any(scale_id in hideable_scales(q) for _, q in group)
    not_asked = {NOT_ASKED: NOT_ASKED_LABEL} if hideable else {}
    for tp in timepoints:
        value = plan.add(
            Variable(
                f"{prefix}_score_{scale_id}_{tp}",
                f"{title}: {label} [{tp}]",
                NUMBER,
                decimals=max(scale.precision, 2),
                value_labels=not_asked,
                missing_codes=tuple(not_asked),
                details={
                    "questionnaire": latest.key,
                    "versions": versions,
                    "scale": scale_id,
                    "timepoint": tp,
                },
            )
        )
        band = None
        if scale.bands:
            band = plan.add(
                text(
                    f"{prefix}_band_{scale_id}_{tp}",
                    f"{title}: {label}, band [{tp}]",
                    64,
                    questionnaire=latest.key,
                    versions=versions,
                    scale=scale_id,
                    timepoint=tp,
                )
            )
        for vid, _ in group:
            plan.scores[(vid, scale_id, tp)] = (value, band)


def _plan_items(
    plan: _Plan,
    versions: list[tuple[int, Questionnaire]],
    timepoints: list[str],
    selection: Selection,
    lowest: int,
) -> None:
    language = selection.request.label_language
    groups = _item_groups([q for _, q in versions])
    ids = {q.version: vid for vid, q in versions}
    members: dict[tuple[int, str], list[tuple[int, Item]]] = defaultdict(list)
    for _, q in versions:
        for item in q.items:
            if item.type is ItemType.TEXT and not selection.project.allow_free_text:
                continue
            members[groups.find((q.version, item.id))].append((q.version, item))
    conditional = {(q.version, item_id) for _, q in versions for item_id in conditional_items(q)}
    for (first, first_id), group in members.items():
        item = group[-1][1]
        hideable = any((v, member.id) in conditional for v, member in group)
        name = (
            first_id if first_id.startswith(f"{versions[0][1].key}_") else f"{versions[0][1].key}_{first_id}"
        )
        name = _prefix(name, first, lowest)
        for tp in timepoints:
            column = plan.add(
                _item_variable(f"{name}_{tp}", item, tp, language, [v for v, _ in group], hideable)
            )
            dated = None
            if item.type is ItemType.DATE and selection.project.allow_calendar_dates:
                label = f"{localise(item.text, language)}, date [{tp}]"
                dated = plan.add(calendar_date(f"{name}_date_{tp}", label, item=item.id, timepoint=tp))
            for v, member in group:
                plan.items[(ids[v], member.id, tp)] = column
                if dated is not None:
                    plan.item_dates[(ids[v], member.id, tp)] = dated


def _item_variable(
    name: str, item: Item, tp: str, language: str, versions: list[int], hideable: bool
) -> Variable:
    """An item's column; `hideable`: skip rules may hide it, so it can hold NOT_ASKED (labelled, missing)."""
    label = f"{localise(item.text, language)} [{tp}]"
    details = {"item": item.id, "versions": versions, "timepoint": tp, "item_type": item.type.value}
    not_asked = {NOT_ASKED: NOT_ASKED_LABEL} if hideable else {}
    if item.type in (ItemType.MULTIPLE_CHOICE, ItemType.TEXT):
        width = multiple_choice_width(item) if item.type is ItemType.MULTIPLE_CHOICE else item.max_length * 4
        return Variable(
            name,
            label,
            TEXT,
            width=min(max(width, len(str(NOT_ASKED)) if hideable else 1), 32767),
            measure="nominal",
            value_labels=not_asked,
            missing_codes=tuple(not_asked),
            details=details,
        )
    missing = tuple(sorted(item.missing_codes)) + tuple(not_asked)
    return Variable(
        name,
        label,
        NUMBER,
        integer=True,
        value_labels={**option_labels(item, language), **not_asked},
        valid_range=_valid_range(item),
        measure="nominal" if item.type is ItemType.YES_NO else "ordinal" if item.type.is_choice else "scale",
        missing_codes=missing,
        details={**details, "missing_codes": list(missing)},
    )


def _valid_range(item: Item) -> tuple[float, float] | None:
    """The valid values of a number or date item's column as a range (None: only its option codes)."""
    if item.type.is_number:
        low, high = item.minimum, item.maximum
        return (-math.inf if low is None else low, math.inf if high is None else high)
    if item.type is ItemType.DATE:
        return (-math.inf, math.inf)  # days since intake
    return None


def _in_scope(selection: Selection) -> Any:
    return AssessmentSession.id.in_(
        select(SessionQuestionnaire.session_id).where(
            SessionQuestionnaire.questionnaire_version_id.in_(selection.version_ids)
        )
    )


def _scheduled(selection: Selection) -> list[Any]:
    return [*session_conditions(selection), AssessmentSession.timepoint_id.is_not(None), _in_scope(selection)]


def _timepoints(session: DbSession, selection: Selection) -> list[str]:
    """Keys of the timepoints in scope: the organisation's schedule (filtered), whatever sessions exist."""
    query = (
        select(Timepoint.key, Programme.key, Timepoint.position)
        .join(Programme, Programme.id == Timepoint.programme_id)
        .where(Programme.organisation_id == selection.project.organisation_id)
    )
    if selection.timepoint_ids:
        query = query.where(Timepoint.id.in_(selection.timepoint_ids))
    ordered = sorted((programme, position, key) for key, programme, position in session.execute(query))
    return list(dict.fromkeys(key for _, _, key in ordered))


def wide_plan(session: DbSession, selection: Selection, questionnaires: dict[int, Questionnaire]) -> _Plan:
    """The columns of the wide layout and where each stored value goes."""
    project = selection.project
    plan = _Plan()
    for variable in (
        pseudonym_variable(),
        *identifier_variables(project),
        text("site", "Site code at intake (where the client's first session was taken)", 32),
        text("programme", "Programme key", 40),
    ):
        plan.add(variable)
    if project.allow_calendar_dates:
        plan.add(calendar_date("intake_date", "Client's intake date (allowed by an admin)"))
    timepoints = _timepoints(session, selection)
    for tp in timepoints:
        plan.sessions[tp] = plan.add(
            whole(f"days_since_intake_{tp}", f"Days from intake to the session [{tp}]")
        )
        if project.allow_calendar_dates:
            plan.add(calendar_date(f"submitted_on_{tp}", f"Date the session was submitted [{tp}]"))
        plan.add(text(f"site_{tp}", f"Site code where the session was taken [{tp}]", 32))
        plan.add(text(f"language_{tp}", f"Language of the session [{tp}]", 2))
        plan.add(text(f"mode_{tp}", f"Mode of administration [{tp}]", 20))
    by_key: dict[str, list[tuple[int, Questionnaire]]] = defaultdict(list)
    for vid, questionnaire in sorted(questionnaires.items(), key=lambda e: (e[1].key, e[1].version)):
        by_key[questionnaire.key].append((vid, questionnaire))
    for versions in by_key.values():
        _plan_key(plan, versions, timepoints, selection)
    plan.notes.append("Sessions outside the schedule (without a timepoint) are not in the wide layout.")
    plan.notes.append(
        "Where a client has two sessions at one timepoint (timepoints of two programmes share a key), the "
        "most recently submitted one fills that timepoint's columns (of two submitted at the same moment, "
        "the one stored last); the other is in the long and scores layouts only."
    )
    return plan


def wide_table(session: DbSession, selection: Selection, pseudonym: Callable[[int], str]) -> Table:
    """The wide layout: one row per client with a scheduled session in scope."""
    questionnaires = questionnaires_of(selection)
    if selection.request.include_items:
        check_not_asked_code(questionnaires.values())
    plan = wide_plan(session, selection, questionnaires)
    clients = _client_query(selection)
    expected = int(session.scalar(select(func.count()).select_from(clients.subquery())) or 0)
    rows = _wide_rows(session, selection, plan, questionnaires, pseudonym)
    return Table(plan.variables, rows, expected, questionnaires, plan.notes)


def _site_at_intake() -> Any:
    """The code of the site where the client's first session (whichever its status) was taken."""
    first = aliased(AssessmentSession)
    taken_at = aliased(Site)
    return (
        select(taken_at.code)
        .join(first, first.site_id == taken_at.id)
        .where(first.client_id == Client.id)
        .order_by(first.started_at, first.id)
        .limit(1)
        .correlate(Client)
        .scalar_subquery()
    )


def _client_query(selection: Selection) -> Any:
    query = (
        select(
            Client.id,
            Client.intake_date,
            _site_at_intake(),
            Programme.key,
            *identifier_columns(selection.project),
        )
        .distinct()
        .select_from(AssessmentSession)
        .join(Client, Client.id == AssessmentSession.client_id)
        .join(Site, Site.id == AssessmentSession.site_id)
        .join(Programme, Programme.id == Client.programme_id)
        .where(*_scheduled(selection))
    )
    if selection.project.allow_identifiers:
        query = query.outerjoin(ClientIdentity, ClientIdentity.client_id == Client.id)
    return query


def _wide_rows(
    session: DbSession,
    selection: Selection,
    plan: _Plan,
    questionnaires: dict[int, Questionnaire],
    pseudonym: Callable[[int], str],
) -> Iterator[Row]:
    last = 0
    while True:
        clients = session.execute(
            _client_query(selection).where(Client.id > last).order_by(Client.id).limit(CLIENTS_PER_BATCH)
        ).all()
        if not clients:
            return
        yield from _batch_rows(session, selection, plan, questionnaires, pseudonym, clients)
        last = clients[-1][0]


def _batch_rows(
    session: DbSession,
    selection: Selection,
    plan: _Plan,
    questionnaires: dict[int, Questionnaire],
    pseudonym: Callable[[int], str],
    clients: Sequence[Any],
) -> Iterator[Row]:
    project = selection.project
    width = len(plan.variables)
    rows: dict[int, list[Any]] = {}
    intakes = {}
    for client_id, intake, site, programme, *identifiers in clients:
        fixed = [pseudonym(client_id), *identifiers, site, programme]
        if project.allow_calendar_dates:
            fixed.append(intake)
        rows[client_id] = fixed + [None] * (width - len(fixed))
        intakes[client_id] = intake
    sessions = _sessions(session, selection, list(rows))
    for client_id, tp, submitted_at, site, language, mode in sessions.values():
        start = plan.sessions[tp]
        submitted = submitted_at.astimezone(selection.timezone).date()
        when = [submitted] if project.allow_calendar_dates else []
        cells = [(submitted - intakes[client_id]).days, *when, site, language, mode]
        rows[client_id][start : start + len(cells)] = cells
    if selection.request.include_items:
        found = _answers(session, list(sessions), selection.version_ids)
        hidden = _hidden(session, questionnaires, list(sessions), found)
        _fill_items(plan, questionnaires, sessions, rows, intakes, found, hidden, selection)
    else:  # only the answers the skip rules read, for the scales they may hide
        hideable = {vid: q for vid, q in questionnaires.items() if hideable_scales(q)}
        rule_items = set().union(*(rule_inputs(q) for q in hideable.values()))
        found = _answers(session, list(sessions), list(hideable), rule_items) if hideable else []
        hidden = _hidden(session, hideable, list(sessions), found)
    _fill_scores(session, selection, plan, questionnaires, sessions, rows, hidden)
    for client_id, _, *_ in clients:
        yield tuple(rows[client_id])


def _sessions(session: DbSession, selection: Selection, client_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """Session id -> (client id, timepoint key, submitted at, site code, language, mode) of the session that
    fills each client's columns of a timepoint: the most recently submitted one there, of sessions submitted
    at the same moment the last stored (highest id). Timepoints of two programmes may share a key (a client
    moved to another programme and redid the intake)."""
    found = session.execute(
        select(
            AssessmentSession.id,
            AssessmentSession.client_id,
            Timepoint.key,
            AssessmentSession.submitted_at,
            Site.code,
            AssessmentSession.language,
            AssessmentSession.mode,
        )
        .join(Timepoint, Timepoint.id == AssessmentSession.timepoint_id)
        .join(Client, Client.id == AssessmentSession.client_id)
        .join(Site, Site.id == AssessmentSession.site_id)
        .where(*_scheduled(selection), AssessmentSession.client_id.in_(client_ids))
        .order_by(AssessmentSession.submitted_at, AssessmentSession.id)
    )
    latest = {(row[1], row[2]): row for row in found}  # later rows replace earlier ones
    return {row[0]: tuple(row[1:]) for row in latest.values()}


def _answers(
    session: DbSession,
    session_ids: list[int],
    version_ids: Sequence[int],
    item_ids: set[str] | None = None,
) -> list[tuple[int, int, str, Any]]:
    """(session, version, item, stored value) of the sessions' answers to these versions (and items)."""
    query = select(
        Answer.session_id, Answer.questionnaire_version_id, Answer.item_id, cast(Answer.value, Text)
    ).where(Answer.session_id.in_(session_ids), Answer.questionnaire_version_id.in_(list(version_ids)))
    if item_ids is not None:
        query = query.where(Answer.item_id.in_(sorted(item_ids)))
    return [
        (session_id, version_id, item_id, decode_raw(raw))
        for session_id, version_id, item_id, raw in session.execute(query)
    ]


def _fill_scores(
    session: DbSession,
    selection: Selection,
    plan: _Plan,
    questionnaires: dict[int, Questionnaire],
    sessions: dict[int, tuple[Any, ...]],
    rows: dict[int, list[Any]],
    hidden: dict[tuple[int, int], frozenset[str]],
) -> None:
    """Scores in their columns; NOT_ASKED where the skip rules hid every item of the scale."""
    hideable = {vid: scales for vid, q in questionnaires.items() if (scales := hideable_scales(q))}
    found = session.execute(
        select(
            Score.session_id, Score.questionnaire_version_id, Score.scale_id, Score.value, Score.band
        ).where(
            Score.session_id.in_(list(sessions)), Score.questionnaire_version_id.in_(selection.version_ids)
        )
    )
    for session_id, version_id, scale_id, value, band in found:
        client_id, tp = sessions[session_id][0], sessions[session_id][1]
        columns = plan.scores.get((version_id, scale_id, tp))
        if columns is None:
            continue
        scored_from = hideable.get(version_id, {}).get(scale_id)
        if value is None and scored_from and hidden.get((session_id, version_id), frozenset()) >= scored_from:
            value = NOT_ASKED
        rows[client_id][columns[0]] = value
        if columns[1] is not None:
            rows[client_id][columns[1]] = band


def _fill_items(
    plan: _Plan,
    questionnaires: dict[int, Questionnaire],
    sessions: dict[int, tuple[Any, ...]],
    rows: dict[int, list[Any]],
    intakes: dict[int, Any],
    found: list[tuple[int, int, str, Any]],
    hidden: dict[tuple[int, int], frozenset[str]],
    selection: Selection,
) -> None:
    """Answers in their columns; NOT_ASKED where the skip rules hid the item."""
    for (session_id, version_id), item_ids in hidden.items():
        client_id, tp = sessions[session_id][0], sessions[session_id][1]
        for item_id in item_ids:
            column = plan.items.get((version_id, item_id, tp))
            if column is not None:
                kind = plan.variables[column].kind
                rows[client_id][column] = NOT_ASKED if kind == NUMBER else str(NOT_ASKED)
    calendar = selection.project.allow_calendar_dates
    for session_id, version_id, item_id, stored in found:
        client_id, tp = sessions[session_id][0], sessions[session_id][1]
        column = plan.items.get((version_id, item_id, tp))
        if column is None or item_id in hidden.get((session_id, version_id), ()):
            continue  # not exported, or an answer kept from before the skip rules hid the item
        item = questionnaires[version_id].item(item_id)
        value = answer_value(item, stored, intakes[client_id], calendar)
        rows[client_id][column] = value.text if plan.variables[column].kind != NUMBER else value.number
        dated = plan.item_dates.get((version_id, item_id, tp))
        if dated is not None:
            rows[client_id][dated] = value.date


def _hidden(
    session: DbSession,
    questionnaires: dict[int, Questionnaire],
    session_ids: list[int],
    found: list[tuple[int, int, str, Any]],
) -> dict[tuple[int, int], frozenset[str]]:
    """The items the skip rules hid, per (session, questionnaire version) whose version has skip rules."""
    conditional = {vid for vid, q in questionnaires.items() if conditional_items(q)}
    if not conditional:
        return {}
    given: dict[tuple[int, int], dict[str, Any]] = defaultdict(dict)
    for session_id, version_id, item_id, value in found:
        if version_id in conditional:
            given[(session_id, version_id)][item_id] = value
    asked = session.execute(
        select(SessionQuestionnaire.session_id, SessionQuestionnaire.questionnaire_version_id).where(
            SessionQuestionnaire.session_id.in_(session_ids),
            SessionQuestionnaire.questionnaire_version_id.in_(conditional),
        )
    )
    return {
        (session_id, version_id): hidden_items(
            questionnaires[version_id], given.get((session_id, version_id), {})
        )
        for session_id, version_id in asked
    }
