"""`flask questionnaires ...`: lint, publish, load, diff, score, rci, rescore, owners and set-owner.

The output of `score` and `rci` is a stable contract that other tools depend on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey_app.domain.answers import parse_answer_text, validate_answer
from survey_app.domain.change import ReliableChangeNotAvailable, reliable_change
from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import SCORER_VERSION, score
from survey_app.extensions import db
from survey_app.models.programme import Organisation
from survey_app.questionnaires.diff import diff_versions
from survey_app.questionnaires.loader import display_name, lint_file
from survey_app.questionnaires.problems import QuestionnaireError
from survey_app.questionnaires.registry import (
    PublicationError,
    QuestionnaireRegistry,
    checked_files,
    declarations_beside_published,
    publication_problems,
)
from survey_app.services.audit import record_event
from survey_app.services.questionnaire_owners import (
    KeyNotYours,
    OwnerChangeRefused,
    change_owner,
    key_owners,
)
from survey_app.services.questionnaire_publishing import publishing
from survey_app.services.questionnaires import store_published_versions
from survey_app.services.scoring import RescoreReport, count_rescore_sessions, plan_rescore, rescore_batch

questionnaires_cli = AppGroup("questionnaires", help="Check, publish, compare and score questionnaires.")

USAGE_ERROR = 2


def _fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _directory() -> Path:
    return Path(current_app.config["QUESTIONNAIRE_DIR"])


def _registry() -> QuestionnaireRegistry:
    try:
        return QuestionnaireRegistry(_directory())
    except PublicationError as error:
        _fail(str(error))


def _questionnaire(key: str, version: int | None) -> Questionnaire:
    try:
        return _registry().get(key, version)
    except KeyError as error:
        _fail(str(error.args[0]))
    except PublicationError as error:
        _fail(str(error))


def _organisation(name: str) -> Organisation:
    found = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if found is None:
        _fail(f"no organisation called {name!r}")
    return found


def _owner_text(organisation: str | None) -> str:
    return "shared" if organisation is None else organisation


def _collect_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths or (_directory(),):
        if path.is_dir():
            found = sorted(path.glob("*/v*.yaml")) or sorted(path.glob("v*.yaml"))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            _fail(f"{path} does not exist")
    return files


@questionnaires_cli.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def lint_command(paths: tuple[Path, ...]) -> None:
    """Check questionnaire files and report every problem with its file, line and item."""
    files = _collect_files(paths)
    directory = _directory()
    try:
        changed = publication_problems(directory)
    except PublicationError as error:
        _fail(str(error))
    problem_count = 0
    files_with_problems = 0
    checked = {display_name(path) for path in files}
    for message in changed:
        if not paths or message.split(" ", 1)[0] in checked:
            click.echo(message)
            problem_count += 1
    for path in files:
        problems = lint_file(path)
        if problems:
            files_with_problems += 1
        for problem in problems:
            click.echo(str(problem))
        problem_count += len(problems)
    for problem in declarations_beside_published(checked_files(files)):
        click.echo(str(problem))
        problem_count += 1
    noun = "file" if len(files) == 1 else "files"
    if problem_count:
        click.echo(f"{problem_count} problem(s) in {len(files)} {noun} checked.", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} {noun} checked: no problems.")


@questionnaires_cli.command("diff")
@click.argument("key")
@click.argument("old", type=int)
@click.argument("new", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def diff_command(key: str, old: int, new: int, as_json: bool) -> None:
    """List item-level changes between two published versions and say which scores stay comparable."""
    if old == new:
        _fail("give two different versions, for example: diff rses 1 2")
    older, newer = (old, new) if old < new else (new, old)
    result = diff_versions(_questionnaire(key, older), _questionnaire(key, newer))
    click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if as_json else result.to_text())


@questionnaires_cli.command("score")
@click.argument("key")
@click.option("--version", type=int, help="A published version (default: the latest).")
@click.option(
    "--answers", required=True, help='Answers in published item order, e.g. "3,2,,1" (empty = missing).'
)
def score_command(key: str, version: int | None, answers: str) -> None:
    """Score answers given in item order and print the scales, bands and flags as JSON."""
    questionnaire = _questionnaire(key, version)
    values = answers.split(",") if answers.strip() else []
    items = questionnaire.items
    if len(values) > len(items):
        _fail(f"{len(values)} answers given, but {questionnaire.label} has {len(items)} items")
    parsed = {}
    problems = []
    for position, (item, text) in enumerate(zip(items, values, strict=False), start=1):
        try:
            value = parse_answer_text(item, text)
        except ValueError as error:
            problems.append(f"item {position} ({item.id}): {error}")
            continue
        problem = validate_answer(item, value)
        if problem:
            problems.append(f"item {position} ({item.id}): {problem}")
        elif value is not None:
            parsed[item.id] = value
    if problems:
        _fail("bad answers:\n  " + "\n  ".join(problems))
    click.echo(json.dumps(score(questionnaire, parsed).to_json(), ensure_ascii=False))


@questionnaires_cli.command("rci")
@click.argument("key")
@click.argument("scale_id", metavar="SCALE")
@click.option("--from", "before", type=float, required=True, help="The earlier score.")
@click.option("--to", "after", type=float, required=True, help="The later score.")
@click.option("--version", type=int, help="A published version (default: the latest).")
def rci_command(key: str, scale_id: str, before: float, after: float, version: int | None) -> None:
    """Print the Reliable Change Index between two scores of a scale as JSON."""
    questionnaire = _questionnaire(key, version)
    scale = questionnaire.scales_by_id.get(scale_id)
    if scale is None:
        known = ", ".join(questionnaire.scales_by_id) or "none"
        _fail(f"{questionnaire.label} has no scale '{scale_id}' (scales: {known})")
    low, high = scale.range
    for label, value in (("--from", before), ("--to", after)):
        if not low <= value <= high:
            _fail(f"{label} {value:g} is outside the range of {scale_id} ({low:g} to {high:g})")
    try:
        change = reliable_change(scale, before, after)
    except ReliableChangeNotAvailable as error:
        _fail(str(error))
    click.echo(json.dumps(change.to_json()))


@questionnaires_cli.command("load")
@click.option(
    "--organisation",
    help="Load for this organisation (by name): a key new to the database becomes its own. Default: shared.",
)
def load_command(organisation: str | None) -> None:
    """Store every published questionnaire version in the database (safe to run again)."""
    owner = None if organisation is None else _organisation(organisation).id
    registry = _registry()
    published = registry.published()
    try:
        with click.progressbar(
            length=len(published), label="Storing questionnaire versions", file=sys.stderr
        ) as bar:
            report = store_published_versions(
                db.session, registry, owner=owner, on_progress=lambda _entry: bar.update(1)
            )
        db.session.commit()
    except (PublicationError, QuestionnaireError) as error:
        db.session.rollback()
        _fail(str(error), code=1)
    click.echo(f"{len(report.stored)} version(s) stored, {len(report.already_stored)} already stored.")
    if report.made_own:
        click.echo(f"Now {organisation}'s own: {', '.join(report.made_own)}.")
    if report.kept_owners:
        kept = ", ".join(f"{key} ({_owner_text(held)})" for key, held in report.kept_owners.items())
        click.echo(
            f"Kept the owner they had, not made {organisation}'s own: {kept}. "
            "`flask questionnaires set-owner KEY --organisation NAME` changes an owner."
        )


@questionnaires_cli.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--organisation",
    help="Publish for this organisation (by name): a new key becomes its own. Default: a new key is shared.",
)
def publish_command(path: Path, organisation: str | None) -> None:
    """Check a new version's file, record its hash as published and store it in the database."""
    organisation_id = None if organisation is None else _organisation(organisation).id
    try:
        with publishing(db.session, _directory(), path, organisation_id=organisation_id) as published:
            db.session.commit()
    except KeyNotYours as error:
        db.session.rollback()
        _fail(f"{error} Nothing was published.", code=1)
    except QuestionnaireError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(str(problem), err=True)
        _fail(f"{display_name(path)} has {len(error.problems)} problem(s); nothing was published", code=1)
    except PublicationError as error:
        db.session.rollback()
        _fail(str(error), code=1)
    except BaseException:
        db.session.rollback()
        raise
    entry = published.entry
    click.echo(f"Published {entry.key} v{entry.version} (sha256 {entry.digest[:12]}...).")
    if entry.version > 1:
        registry = published.registry
        previous = registry.get(entry.key, entry.version - 1)
        click.echo(diff_versions(previous, registry.get(entry.key, entry.version)).to_text())


@questionnaires_cli.command("rescore")
@click.option("--key", help="Only this questionnaire (default: all).")
def rescore_command(key: str | None) -> None:
    """Re-score every submitted session with the current scorer and record its version."""
    total = count_rescore_sessions(db.session, key=key)
    report = RescoreReport()
    with click.progressbar(
        length=total, label=f"Re-scoring with scorer {SCORER_VERSION}", file=sys.stderr
    ) as bar:
        for batch in plan_rescore(db.session, key=key):
            rescore_batch(db.session, batch, report)
            db.session.commit()
            bar.update(len(batch.session_ids))
    record_event(
        db.session,
        "questionnaire.rescore",
        details={
            "key": key,
            "sessions": report.sessions,
            "changed_scores": report.changed_scores,
            "scorer_version": SCORER_VERSION,
        },
    )
    db.session.commit()
    click.echo(
        f"Re-scored {report.sessions} questionnaire(s) in sessions with scorer {SCORER_VERSION}: "
        f"{report.changed_scores} score(s) changed."
    )


@questionnaires_cli.command("owners")
def owners_command() -> None:
    """List every questionnaire key in the database with its owner and its latest version."""
    owners = key_owners(db.session)
    if not owners:
        click.echo("No questionnaires in the database yet: run `flask questionnaires load`.")
        return
    width = max(len("key"), *(len(owner.key) for owner in owners))
    click.echo(f"{'key':<{width}}  latest  owner")
    for owner in owners:
        latest = f"v{owner.latest_version}"
        click.echo(f"{owner.key:<{width}}  {latest:<6}  {_owner_text(owner.organisation)}")


@questionnaires_cli.command("set-owner")
@click.argument("key")
@click.option("--organisation", help="The organisation (by name) whose own questionnaire the key becomes.")
@click.option("--shared", is_flag=True, help="Share the key with every organisation.")
def set_owner_command(key: str, organisation: str | None, shared: bool) -> None:
    """Change who owns a questionnaire key: an organisation, or every organisation (shared); audited."""
    if (organisation is None) != shared:
        _fail("give either --organisation NAME or --shared, for example: set-owner who5 --shared")
    new_owner = None if organisation is None else _organisation(organisation)
    try:
        change = change_owner(db.session, key, new_owner)
        db.session.commit()
    except OwnerChangeRefused as error:
        db.session.rollback()
        _fail(str(error), code=1)
    if not change.changed:
        click.echo(f"{key} is {_owner_text(change.after)} already; nothing changed.")
        return
    click.echo(f"{key}: the owner was {_owner_text(change.before)}, now {_owner_text(change.after)}.")
