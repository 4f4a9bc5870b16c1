"""`flask export`: a research export of one project to a file, with its codebook beside it.

    flask --app wsgi export --project "Ghent evaluation" --layout wide --format sav \\
        --questionnaire who5 --questionnaire phq9 --timepoint t0 --timepoint t3m --out ghent.sav

Writes PATH (the data), PATH-stem.codebook.json and PATH-stem.codebook.html (and, for FHIR,
PATH-stem.questionnaires.json), prints the row count and the SHA-256 of the data file, and audits the export.
Exit status: 0 written (possibly with the header only), 2 bad input (unknown project, questionnaire, version,
timepoint or site; nothing written), 1 failed (an unusable research key, or while writing: the partial
file is removed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import current_app, render_template
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from survey_app.db import deferred_transaction
from survey_app.extensions import db
from survey_app.i18n import timezone
from survey_app.models.base import utcnow
from survey_app.models.research import EXPORT_FORMATS, EXPORT_LAYOUTS, ExportProject
from survey_app.services.exports import (
    ExportError,
    ExportFilters,
    ExportRequest,
    check_request,
    fail_run,
    finish_run,
    load_research_key,
    parse_version,
    project_secret,
    split_list,
    start_run,
    write_export,
)
from survey_app.services.exports.selection import LABEL_LANGUAGES

USAGE_ERROR = 2
#: The largest id a row can have (the databases' 32-bit integer keys).
MAX_ID = 2**31 - 1
FHIR_BASE_DEFAULT = "https://recovery-outcomes.example/fhir"


def _fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _project(reference: str) -> ExportProject:
    query = select(ExportProject)
    by_id = reference.isascii() and reference.isdigit() and int(reference) <= MAX_ID  # else a name
    found = db.session.scalars(
        query.where(ExportProject.id == int(reference))
        if by_id
        else query.where(ExportProject.name == reference)
    ).all()
    if len(found) != 1:
        names = ", ".join(sorted(p.name for p in db.session.scalars(select(ExportProject)))) or "none yet"
        _fail(
            f"no export project {reference!r} (projects: {names}); an admin creates projects in the web app"
        )
    return found[0]


def _filters(options: dict[str, Any]) -> ExportFilters:
    try:
        versions = tuple(parse_version(text) for text in split_list(options["versions"]))
    except ExportError as error:
        _fail(str(error))
    return ExportFilters(
        questionnaires=split_list(options["questionnaires"]),
        versions=versions,
        timepoints=split_list(options["timepoints"]),
        sites=split_list(options["sites"]),
        submitted_from=options["date_from"].date() if options["date_from"] else None,
        submitted_to=options["date_to"].date() if options["date_to"] else None,
    )


def render_codebook(codebook: Any) -> str:
    """The codebook as a standalone HTML page, its headings in the language of the labels."""
    with force_locale(codebook["provenance"]["request"]["label_language"]):
        return render_template("research/codebook.html", codebook=codebook)


@click.command("export")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--layout", type=click.Choice(EXPORT_LAYOUTS), required=True)
@click.option("--format", "file_format", type=click.Choice(EXPORT_FORMATS), required=True)
@click.option(
    "--questionnaire", "questionnaires", multiple=True, help="Questionnaire key (repeat or comma-separate)."
)
@click.option("--version", "versions", multiple=True, help="Questionnaire version as key:N, e.g. who5:1.")
@click.option("--timepoint", "timepoints", multiple=True, help="Timepoint key, e.g. t0.")
@click.option("--site", "sites", multiple=True, help="Site code.")
@click.option(
    "--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Submitted on or after (YYYY-MM-DD)."
)
@click.option(
    "--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Submitted on or before (YYYY-MM-DD)."
)
@click.option("--items/--no-items", default=True, help="Wide layout: item columns besides the scores.")
@click.option("--labels", type=click.Choice(LABEL_LANGUAGES), default="en", help="Language of labels.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@with_appcontext
def export_command(
    project_ref: str, layout: str, file_format: str, out: Path, force: bool, quiet: bool, **options: Any
) -> None:
    """Export a research project's data (pseudonymised) with its codebook."""
    if out.exists() and not force:
        _fail(f"{out} exists; choose another path or add --force")
    if not out.parent.is_dir():
        _fail(f"the folder {out.parent} does not exist")
    project = _project(project_ref)
    request = ExportRequest(
        layout,
        file_format,
        _filters(options),
        include_items=options["items"],
        label_language=options["labels"],
    )
    try:
        selection = check_request(db.session, project, request, as_of=utcnow(), timezone=timezone())
    except ExportError as error:
        _fail(str(error))
    run = start_run(db.session, project, request, requested_by=None, via="cli")
    run_id = run.public_id
    try:
        secret = project_secret(load_research_key(Path(current_app.instance_path)), project)
    except ExportError as error:  # an unusable RESEARCH_PSEUDONYM_KEY
        fail_run(db.session, run, error.reason, actor_id=None)
        db.session.commit()
        _fail(str(error), code=1)
    db.session.commit()
    try:
        outcome = _write(selection, run_id, secret, out, quiet)
    except ExportError as error:  # a reason found while reading (a clashing column, an ambiguous code)
        fail_run(db.session, run, error.reason, actor_id=None)
        db.session.commit()
        _fail(str(error), code=1)
    except Exception as error:
        fail_run(db.session, run, "error", actor_id=None, error=type(error).__name__)
        db.session.commit()
        raise
    finish_run(db.session, run, outcome, actor_id=None, file_name=out.name)
    db.session.commit()
    if outcome.rows == 0:
        click.echo("No rows matched the filters: the file holds the header only.", err=True)
    for path in outcome.files:
        click.echo(f"wrote {path}")
    click.echo(f"rows: {outcome.rows}  sha256: {outcome.sha256}")


def _write(selection: Any, run_id: str, secret: bytes, out: Path, quiet: bool) -> Any:
    bar: Any = None

    def total(count: int) -> None:
        nonlocal bar
        if not quiet:
            bar = click.progressbar(length=count, label="Exporting rows", file=sys.stderr, show_pos=True)
            bar.__enter__()

    done = 0

    def progress(rows: int) -> None:
        nonlocal done
        if bar is not None:
            bar.update(rows - done)
        done = rows

    try:
        with deferred_transaction(db.session, snapshot=True) as reading:
            return write_export(
                reading,
                selection,
                secret=secret,
                data_path=out,
                render_html=render_codebook,
                run_id=run_id,
                on_progress=progress,
                on_total=total,
                fhir_base=current_app.config.get("RESEARCH_FHIR_BASE", FHIR_BASE_DEFAULT),
            )
    except Exception:
        out.unlink(missing_ok=True)  # never leave a partial file that looks complete
        raise
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
