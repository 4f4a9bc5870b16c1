"""The long layout (one row per answer) and the scores layout (one row per scale per session), streamed.

Each reads one query ordered by session (`yield_per`: a server-side cursor on PostgreSQL, a stepping statement
on SQLite), keeps one session's rows at a time to put them in questionnaire order, and yields tuples. The
long layout's answers, the bulk of an export, are read ahead on PostgreSQL: the server computes the next
batch while the app writes the one before.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CursorResult, Select, Text, cast, func, or_, select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Item, ItemType, Questionnaire
from survey_app.domain.scoring import conditional_items, hidden_items, hideable_scales, rule_inputs
from survey_app.exports.csv_out import CsvPieces
from survey_app.exports.read_ahead import ReadAhead
from survey_app.exports.table import NOT_ASKED, NOT_ASKED_LABEL, NUMBER, Row, Variable
from survey_app.models.assessment import Answer, AssessmentSession, Score, SessionQuestionnaire
from survey_app.models.people import Client, ClientIdentity
from survey_app.models.programme import Programme, Site, Timepoint
from survey_app.services.exports.columns import (
    YES_NO,
    SessionFacts,
    administration_variables,
    answer_value,
    calendar_date,
    check_not_asked_code,
    decode_raw,
    identifier_columns,
    identifier_variables,
    key_text,
    pseudonym_variable,
    session_facts,
    session_numbers,
    session_variables,
    text,
    value_text_width,
    whole,
)
from survey_app.services.exports.selection import Selection, session_conditions
from survey_app.services.questionnaires import questionnaire_of

BATCH = 5000
#: Distinct whole-number answers remembered per item (choice codes, counts of days, ...).
CACHED_CODES = 512


@dataclass
class Table:
    """A layout ready to write: its variables, its rows (an iterator, read once) and how many to expect."""

    variables: list[Variable]
    #: Tuples of cells, or CSV lines where `csv_neutralised` is set.
    rows: Iterator[Any]
    expected_rows: int
    questionnaires: dict[int, Questionnaire]
    notes: list[str] = field(default_factory=list)
    #: How many of the rows read so far are not among `expected_rows` (the long layout's not-asked rows of
    #: items without a stored answer, known only as the rows are made): progress leaves them out.
    unexpected_rows: Callable[[], int] | None = None
    #: Set when the rows are CSV lines, already neutralised (the long layout's CSV): how many cells were.
    csv_neutralised: Callable[[], int] | None = None


def questionnaires_of(selection: Selection) -> dict[int, Questionnaire]:
    """Version id -> the stored questionnaire, for every version in scope."""
    return {row.id: questionnaire_of(row) for row in selection.versions}


def session_query(selection: Selection) -> Select[*tuple[Any, ...]]:
    """The sessions of the selection with what every row repeats, ordered by session id."""
    numbered = session_numbers()
    query = (
        select(
            AssessmentSession.id,
            Client.id,
            Client.intake_date,
            Site.code,
            Programme.key,
            Timepoint.key,
            numbered.c.number,
            AssessmentSession.submitted_at,
            *identifier_columns(selection.project),
            AssessmentSession.language,
            AssessmentSession.mode,
        )
        .join(Client, Client.id == AssessmentSession.client_id)
        .join(Site, Site.id == AssessmentSession.site_id)
        .join(Programme, Programme.id == Client.programme_id)
        .outerjoin(Timepoint, Timepoint.id == AssessmentSession.timepoint_id)
        .join(numbered, numbered.c.session_id == AssessmentSession.id)
        .where(*session_conditions(selection))
        .order_by(AssessmentSession.id)
    )
    if selection.project.allow_identifiers:
        query = query.outerjoin(ClientIdentity, ClientIdentity.client_id == Client.id)
    return query


def session_ids(selection: Selection) -> Select[*tuple[Any, ...]]:
    """Ids of the sessions of the selection (for IN (...))."""
    return (
        select(AssessmentSession.id)
        .join(Client, Client.id == AssessmentSession.client_id)
        .join(Site, Site.id == AssessmentSession.site_id)
        .where(*session_conditions(selection))
    )


def _stream(session: DbSession, query: Select[*tuple[Any, ...]]) -> Generator[Any]:
    """Rows of a Core query, fetched in batches (a server-side cursor on PostgreSQL)."""
    result = session.connection().execute(query.execution_options(yield_per=BATCH))
    try:
        for partition in result.partitions():
            yield from partition
    finally:
        result.close()


@contextmanager
def _plain_rows(session: DbSession, query: Select[*tuple[Any, ...]]) -> Iterator[Iterator[Any]]:
    """Rows of a query whose columns need no conversion (integers and text), as the driver gives them.

    SQLAlchemy's row objects cost more than the query, so the driver's cursor is read directly. SQLite steps
    through the result as its cursor is read. PostgreSQL reads a server-side cursor in batches, the next
    batch fetched (and computed by the server) while the rows of the one before are written.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        result = connection.execute(query)
        cursor: Iterable[Any] = result.cursor  # type: ignore[assignment]  # sqlite3 cursors iterate rows
        try:
            yield iter(cursor)
        finally:
            result.close()
        return
    result = connection.execute(query.execution_options(stream_results=True))
    try:
        batches = ReadAhead(driver_batches(result))
        try:
            yield itertools.chain.from_iterable(batches)
        finally:
            batches.close()
    finally:
        result.close()


def driver_batches(result: CursorResult[Any]) -> Iterator[Sequence[Any]]:
    """Batches of ``BATCH`` rows of a server-side cursor's result, as the driver's own tuples.

    SQLAlchemy reads the first row ahead; the cursor is read directly once that row is taken, which its
    position confirms (else every row comes through SQLAlchemy, as slowly as ever but none lost).
    """
    first = [tuple(row) for row in result.fetchmany(1)]
    cursor = result.cursor
    yield first
    if getattr(cursor, "rownumber", None) != len(first):
        yield from result.partitions(BATCH)
        return
    while batch := cursor.fetchmany(BATCH):
        yield batch


def _count(session: DbSession, query: Select[*tuple[Any, ...]]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


class _Sessions:
    """Walks the session stream in step with rows ordered by session id (a merge join)."""

    def __init__(self, session: DbSession, selection: Selection, pseudonym: Callable[[int], str]) -> None:
        self.rows = _stream(session, session_query(selection))
        self.facts_of = session_facts(selection.project, pseudonym, selection.timezone)
        self.split = 8 + len(identifier_columns(selection.project))

    def find(self, session_id: int) -> tuple[SessionFacts, tuple[Any, ...]]:
        """The facts and the (language, mode) of the session with this id."""
        for record in self.rows:
            if record[0] == session_id:
                return self.facts_of(*record[1 : self.split]), tuple(record[self.split :])
        raise LookupError(f"session {session_id} is not in the selection")


# ---------------------------------------------------------------- long
def answers_query(selection: Selection) -> Select[*tuple[Any, ...]]:
    """One row per answer of the selection, by session, questionnaire version and item id (an index), and
    one row with no item for a questionnaire of a session without answers (its skip rules still hide)."""
    asked = SessionQuestionnaire
    return (
        select(asked.session_id, asked.questionnaire_version_id, Answer.item_id, cast(Answer.value, Text))
        .select_from(asked)
        .outerjoin(
            Answer,
            (Answer.session_id == asked.session_id)
            & (Answer.questionnaire_version_id == asked.questionnaire_version_id),
        )
        .where(
            asked.session_id.in_(session_ids(selection)),
            asked.questionnaire_version_id.in_(selection.version_ids),
        )
        .order_by(asked.session_id, asked.questionnaire_version_id, Answer.item_id)
    )


def long_variables(selection: Selection, questionnaires: dict[int, Questionnaire]) -> list[Variable]:
    """Columns of the long layout."""
    project = selection.project
    return [
        pseudonym_variable(),
        *identifier_variables(project),
        *session_variables(project),
        key_text("questionnaire", "Questionnaire key", 40),
        whole("version", "Questionnaire version", measure="ordinal"),
        key_text("item", "Item id (see the codebook for its text and value labels)", 64),
        Variable(
            "value",
            f"Raw answer code or number (dates: days since intake; {NOT_ASKED}: not asked)",
            NUMBER,
            value_labels={NOT_ASKED: NOT_ASKED_LABEL},
            missing_codes=(NOT_ASKED,),
        ),
        text(
            "value_text",
            "Answer that is not a single number: codes of a multiple choice as 1;3"
            + (", free text" if project.allow_free_text else ""),
            value_text_width(questionnaires, project),
        ),
        *(
            [calendar_date("value_date", "Answer to a date item (allowed by an admin)")]
            if project.allow_calendar_dates
            else []
        ),
        whole("declined", "1 when the code is a declared 'rather not say' option", measure="nominal"),
        *administration_variables(),
    ]


def long_table(session: DbSession, selection: Selection, pseudonym: Callable[[int], str]) -> Table:
    """The long layout: one row per answer, and one per item the skip rules did not ask."""
    questionnaires = questionnaires_of(selection)
    check_not_asked_code(questionnaires.values())
    query = answers_query(selection)
    variables = long_variables(selection, questionnaires)
    plans = {vid: _ItemPlan(q, selection.project.allow_free_text) for vid, q in questionnaires.items()}
    shape = _long_shape(selection, variables)
    rows = _long_rows(session, selection, query, plans, pseudonym, shape)
    notes = [] if selection.project.allow_free_text else ["Free-text answers are left out (not allowed)."]
    expected = exported_answers(session, selection, plans)
    added = list(plans.values())
    table = Table(
        variables, rows, expected, questionnaires, notes, lambda: sum(plan.not_asked_added for plan in added)
    )
    if isinstance(shape, _CsvLines):
        pieces = shape.pieces
        table.csv_neutralised = lambda: pieces.neutralised
    return table


def _long_shape(selection: Selection, variables: list[Variable]) -> _RowShape:
    """CSV lines for a CSV export (its rows repeat a session's facts on every answer), else tuples."""
    if selection.request.format != "csv":
        return _RowShape()
    cells_at = next(index for index, variable in enumerate(variables) if variable.name == "item")
    tail_at = len(variables) - len(administration_variables())
    return _CsvLines(variables, cells_at, tail_at)


def exported_answers(session: DbSession, selection: Selection, plans: dict[int, _ItemPlan]) -> int:
    """How many stored answers the long layout exports (each is one row; free text only where allowed)."""
    left_out = [
        (Answer.questionnaire_version_id == vid) & Answer.item_id.in_(sorted(ids))
        for vid, plan in plans.items()
        if (ids := set(plan.questionnaire.items_by_id) - set(plan.items))
    ]
    query = select(func.count()).where(
        Answer.session_id.in_(session_ids(selection)),
        Answer.questionnaire_version_id.in_(selection.version_ids),
        *([~or_(*left_out)] if left_out else []),
    )
    return int(session.scalar(query) or 0)


def _long_rows(
    session: DbSession,
    selection: Selection,
    query: Select[*tuple[Any, ...]],
    plans: dict[int, _ItemPlan],
    pseudonym: Callable[[int], str],
    shape: _RowShape,
) -> Iterator[Any]:
    return itertools.chain.from_iterable(_long_groups(session, selection, query, plans, pseudonym, shape))


def _long_groups(
    session: DbSession,
    selection: Selection,
    query: Select[*tuple[Any, ...]],
    plans: dict[int, _ItemPlan],
    pseudonym: Callable[[int], str],
    shape: _RowShape,
) -> Iterator[list[Any]]:
    """The rows of each (session, questionnaire version) in published item order, a list per group."""
    sessions = _Sessions(session, selection, pseudonym)
    calendar = selection.project.allow_calendar_dates
    with _plain_rows(session, query) as rows:
        yield from _grouped_answers(rows, sessions, plans, calendar, shape)


def _grouped_answers(
    rows: Iterator[Any], sessions: _Sessions, plans: dict[int, _ItemPlan], calendar: bool, shape: _RowShape
) -> Iterator[list[Any]]:
    """Answer rows (ordered by session, version and item id; item None for a questionnaire of the session
    without answers) as export rows in the shape's form, one list per group."""
    current_session = current_version = -1
    facts: SessionFacts | None = None
    plan: _ItemPlan | None = None
    items: dict[str, _PlannedItem] = {}
    slots: list[Any] = []
    given: dict[str, Any] | None = None
    inputs: frozenset[str] = frozenset()
    head: Any = ()
    tail: Any = ()
    for session_id, version_id, item_id, raw in rows:
        if version_id != current_version or session_id != current_session:
            if plan is not None and (group := plan.group(slots, given, head, tail, calendar, shape)):
                yield group
            if session_id != current_session:
                facts, session_tail = sessions.find(session_id)
                tail = shape.tail(session_tail)
                current_session = session_id
            plan = plans[version_id]
            current_version, items, slots = version_id, plan.items, [None] * plan.size
            given, inputs = ({} if plan.conditional else None), plan.rule_inputs
            assert facts is not None
            head = shape.head((*facts.values, plan.key, plan.version))
        if item_id is None:
            continue  # a questionnaire of the session with no answer at all
        if given is not None and item_id in inputs:  # exported or not, the skip rules read it
            given[item_id] = decode_raw(raw)
        planned = items.get(item_id)
        if planned is None:
            continue  # not asked in this version, or free text that is not allowed: never exported
        cells = planned.codes.get(raw)  # the common case: a code or a whole number seen before
        if cells is None:
            assert facts is not None
            cells = planned.cells(raw, facts.intake, calendar, shape)
        slots[planned.index] = head + cells + tail
    if plan is not None and (group := plan.group(slots, given, head, tail, calendar, shape)):
        yield group


class _RowShape:
    """Export rows as tuples of cells, for every writer; `_CsvLines` makes CSV lines instead.

    A row is ``head + cells + tail``: the head (a session's facts and the questionnaire) and the tail (how
    it was answered) are made once per group and session, the cells once per answer (or once per code).
    """

    def head(self, values: Row) -> Any:
        """The head of the rows of one questionnaire of a session."""
        return values

    def tail(self, values: Row) -> Any:
        """The tail of the rows of one session."""
        return values

    def cells(self, values: Row, index: int) -> tuple[Any, bool]:
        """The cells of one answer at slot ``index``, and whether they may be remembered for its code."""
        return values, True

    def replaced(self, index: int) -> None:
        """The answer at slot ``index`` gives way to the item's not-asked cells."""

    def rows_made(self, rows: int) -> None:
        """A group of ``rows`` rows is complete."""


class _CsvLines(_RowShape):
    """Export rows as CSV lines joined from pieces encoded once (see `csv_out.CsvPieces`)."""

    def __init__(self, variables: list[Variable], cells_at: int, tail_at: int) -> None:
        self.pieces = CsvPieces(variables)
        self._cells_at, self._tail_at = cells_at, tail_at
        self._head_risky = self._tail_risky = 0
        #: Neutralised cells of the answers in the group being made, by slot.
        self._risky_slots: dict[int, int] = {}

    def head(self, values: Row) -> str:
        """The head as CSV text (it ends with a comma)."""
        text, self._head_risky = self.pieces.encode(values, 0)
        return text

    def tail(self, values: Row) -> str:
        """The tail as CSV text (it ends the line)."""
        text, self._tail_risky = self.pieces.encode(values, self._tail_at, ends_row=True)
        return text

    def cells(self, values: Row, index: int) -> tuple[str, bool]:
        """The cells as CSV text; remembered only when none was neutralised (then none is counted)."""
        text, risky = self.pieces.encode(values, self._cells_at)
        if risky:
            self._risky_slots[index] = risky
        return text, not risky

    def replaced(self, index: int) -> None:
        """The answer's neutralised cells are no longer written."""
        self._risky_slots.pop(index, None)

    def rows_made(self, rows: int) -> None:
        """Count the group's neutralised cells: in its head and tail on every row, and in its answers."""
        in_answers = sum(self._risky_slots.values())
        self.pieces.neutralised += rows * (self._head_risky + self._tail_risky) + in_answers
        self._risky_slots.clear()


@dataclass
class _PlannedItem:
    """An item's position in its version and the cells (item, value, value_text, declined) of its answers."""

    index: int
    item: Item
    #: Stored text of a whole-number answer -> its cells in the rows' shape, filled as answers are seen
    #: (bounded).
    codes: dict[str | None, Any] = field(default_factory=dict)
    #: The cells of the item when the skip rules did not ask it, in the rows' shape (made once).
    not_asked_cells: Any = None

    def cells(self, raw: str | None, intake: dt.date, calendar: bool, shape: _RowShape) -> Any:
        """The cells of one stored answer (remembered when it is a whole number); with calendar dates, the
        answer's date comes after its text."""
        if raw is not None and raw.isdigit():
            code = int(raw)
            declined = 1 if code in self.item.missing_codes else 0
            values: Row = (
                (self.item.id, code, None, None, declined)
                if calendar
                else (self.item.id, code, None, declined)
            )
            cells, keep = shape.cells(values, self.index)
            if keep and len(self.codes) < CACHED_CODES:
                self.codes[raw] = cells
            return cells
        value = answer_value(self.item, decode_raw(raw), intake, calendar)
        if calendar:
            values = (self.item.id, value.number, value.text, value.date, value.declined)
        else:
            values = (self.item.id, value.number, value.text, value.declined)
        return shape.cells(values, self.index)[0]

    def not_asked(self, calendar: bool, shape: _RowShape) -> Any:
        """The cells of the item when the skip rules did not ask it."""
        if self.not_asked_cells is None:
            values = (self.item.id, NOT_ASKED, None, *((None,) if calendar else ()), 0)
            self.not_asked_cells = shape.cells(values, self.index)[0]  # an item id and numbers: never risky
        return self.not_asked_cells


class _ItemPlan:
    """One questionnaire version's exported items, by id, with their position in published order."""

    def __init__(self, questionnaire: Questionnaire, free_text: bool) -> None:
        self.questionnaire = questionnaire
        self.key = questionnaire.key
        self.version = questionnaire.version
        self.size = len(questionnaire.items)
        self.items = {
            item.id: _PlannedItem(index, item)
            for index, item in enumerate(questionnaire.items)
            if free_text or item.type is not ItemType.TEXT
        }
        #: Whether skip rules may hide an item (then each session's answers are kept to evaluate them).
        self.conditional = bool(conditional_items(questionnaire))
        #: The items whose answers the skip rules read (the only answers kept to evaluate them).
        self.rule_inputs = rule_inputs(questionnaire)
        #: Not-asked rows made so far for items without a stored answer (rows no answer stands for).
        self.not_asked_added = 0

    def group(
        self,
        slots: list[Any],
        given: dict[str, Any] | None,
        head: Any,
        tail: Any,
        calendar: bool,
        shape: _RowShape,
    ) -> list[Any]:
        """The rows of one session's answers, with NOT_ASKED for each item the skip rules hid (whatever
        answer to it may be stored), in published order."""
        if given is not None:
            for item_id in hidden_items(self.questionnaire, given):
                planned = self.items.get(item_id)
                if planned is not None:
                    if slots[planned.index] is None:
                        self.not_asked_added += 1
                    else:
                        shape.replaced(planned.index)
                    slots[planned.index] = head + planned.not_asked(calendar, shape) + tail
        rows = [row for row in slots if row is not None]
        shape.rows_made(len(rows))
        return rows


def _flush(pending: list[tuple[int, Row]]) -> Iterator[Row]:
    pending.sort(key=_first)
    for _, row in pending:
        yield row
    pending.clear()


def _first(entry: tuple[int, Row]) -> int:
    return entry[0]


# ---------------------------------------------------------------- scores
def scores_query(selection: Selection) -> Select[*tuple[Any, ...]]:
    """One row per stored scale score of the selection, ordered by session and version."""
    return (
        select(
            Score.session_id,
            Score.questionnaire_version_id,
            Score.scale_id,
            Score.value,
            Score.band,
            Score.prorated,
            Score.missing_count,
            Score.scorer_version,
        )
        .where(
            Score.session_id.in_(session_ids(selection)),
            Score.questionnaire_version_id.in_(selection.version_ids),
        )
        .order_by(Score.session_id, Score.questionnaire_version_id, Score.scale_id)
    )


def scores_variables(selection: Selection) -> list[Variable]:
    """Columns of the scores layout."""
    project = selection.project
    return [
        pseudonym_variable(),
        *identifier_variables(project),
        *session_variables(project),
        key_text("questionnaire", "Questionnaire key", 40),
        whole("version", "Questionnaire version", measure="ordinal"),
        key_text("scale", "Scale id (see the codebook for its scoring rule)", 64),
        Variable(
            "value",
            f"Scale score (empty: not scored, too many items missing; {NOT_ASKED}: not asked)",
            NUMBER,
            decimals=3,
            value_labels={NOT_ASKED: NOT_ASKED_LABEL},
            missing_codes=(NOT_ASKED,),
        ),
        key_text("band", "Band id of the score (see the codebook for its label and range)", 64),
        Variable(
            "prorated",
            "1 when missing items were imputed",
            NUMBER,
            integer=True,
            value_labels=YES_NO,
            measure="nominal",
        ),
        whole("missing_count", "Items missing when scoring"),
        text("scorer_version", "Version of the scorer that computed the score", 40),
        *administration_variables(),
    ]


def scores_table(session: DbSession, selection: Selection, pseudonym: Callable[[int], str]) -> Table:
    """The scale scores layout: one row per scale per session, NOT_ASKED for a scale whose items the skip
    rules all hid."""
    questionnaires = questionnaires_of(selection)
    query = scores_query(selection)
    return Table(
        scores_variables(selection),
        _score_rows(session, selection, query, questionnaires, pseudonym),
        _count(session, query),
        questionnaires,
    )


def rule_answers_query(
    selection: Selection, questionnaires: dict[int, Questionnaire]
) -> Select[*tuple[Any, ...]]:
    """The answers the skip rules read, of the versions given, ordered by session and version."""
    item_ids = set().union(*(rule_inputs(q) for q in questionnaires.values()))
    return (
        select(Answer.session_id, Answer.questionnaire_version_id, Answer.item_id, cast(Answer.value, Text))
        .where(
            Answer.session_id.in_(session_ids(selection)),
            Answer.questionnaire_version_id.in_(list(questionnaires)),
            Answer.item_id.in_(sorted(item_ids)),
        )
        .order_by(Answer.session_id, Answer.questionnaire_version_id)
    )


class _HiddenItems:
    """Walks the answers the skip rules read in step with groups ordered by session and version (a merge
    join) and says which items the rules hid in a group."""

    def __init__(self, session: DbSession, selection: Selection, questionnaires: dict[int, Questionnaire]):
        self.questionnaires = questionnaires
        self.rows = (
            _stream(session, rule_answers_query(selection, questionnaires)) if questionnaires else None
        )
        self.ahead: Any = None

    def of(self, session_id: int, version_id: int) -> frozenset[str]:
        """The items the skip rules hid in this session's questionnaire version (asked in order)."""
        given: dict[str, Any] = {}
        key = (session_id, version_id)
        while self.rows is not None:
            if self.ahead is None:
                self.ahead = next(self.rows, None)
                if self.ahead is None:
                    break
            ahead = tuple(self.ahead[:2])
            if ahead > key:
                break
            if ahead == key:
                given[self.ahead[2]] = decode_raw(self.ahead[3])
            self.ahead = None
        return hidden_items(self.questionnaires[version_id], given)


def _score_rows(
    session: DbSession,
    selection: Selection,
    query: Select[*tuple[Any, ...]],
    questionnaires: dict[int, Questionnaire],
    pseudonym: Callable[[int], str],
) -> Iterator[Row]:
    sessions = _Sessions(session, selection, pseudonym)
    order = {
        vid: {scale.id: index for index, scale in enumerate(q.scales)} for vid, q in questionnaires.items()
    }
    hideable = {vid: scales for vid, q in questionnaires.items() if (scales := hideable_scales(q))}
    hidden_in = _HiddenItems(session, selection, {vid: questionnaires[vid] for vid in hideable})
    current = (-1, -1)
    facts = tail = None
    hidden: frozenset[str] | None = None
    pending: list[tuple[int, Row]] = []
    for session_id, version_id, scale_id, value, band, prorated, missing, scorer in _stream(session, query):
        if (session_id, version_id) != current:
            yield from _flush(pending)
            if session_id != current[0]:
                facts, tail = sessions.find(session_id)
            current = (session_id, version_id)
            hidden = None
        assert facts is not None and tail is not None
        if value is None and scale_id in hideable.get(version_id, ()):
            if hidden is None:
                hidden = hidden_in.of(session_id, version_id)
            if hidden.issuperset(hideable[version_id][scale_id]):
                value = NOT_ASKED
        questionnaire = questionnaires[version_id]
        pending.append(
            (
                order[version_id].get(scale_id, len(order[version_id])),
                (
                    *facts.values,
                    questionnaire.key,
                    questionnaire.version,
                    scale_id,
                    value,
                    band,
                    int(prorated),
                    missing,
                    scorer,
                    *tail,
                ),
            )
        )
    yield from _flush(pending)
