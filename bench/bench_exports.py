"""Research export figures: the long layout of about 1,000,000 answers as CSV, Parquet, SPSS and Stata.

Data: `flask demo seed --clients 3600` (seed 2026, the Drug Treatment Court programme: four timepoints, a
battery of up to 14 questionnaires, about 127 answers per session), with a research consent in force for
every client and one export project: 7,927 sessions, 1,009,814 answers. The issue's example shape (10,000
clients x 2 timepoints x 50 items) is the same number of answers; the demo's programme asks more per session,
so the same million answers come from fewer, longer sessions. `--quick` uses the 50-client demo.

Every figure carries the baseline measured in the same run:
- `export_long_csv_ratio_vs_dump_sqlite` / `_postgres`: value = seconds of the long-layout CSV export
  (counting, reading, pseudonymising, writing, checksum and codebook), baseline = seconds of the database's
  own CSV dump of the same rows (`sqlite3 -csv`; PostgreSQL `COPY (SELECT ...) TO STDOUT` through psql),
  ratio = value / baseline. Target: ratio <= 2. Best of the rounds, export and dump alternating.
- `export_long_csv_peak_rss_mb`, `export_{parquet,sav,dta}_peak_rss_mb`: value = peak resident memory of
  the largest process of the export: the process that ran it (a child of the benchmark) or a helper process
  it started (pyarrow for Parquet, pyreadstat for the SPSS and Stata dictionaries), from wait4, which
  reports the largest of a process and the descendants it waited for; the figure also lists the export
  process and its largest helper apart. Baseline = the same exporting an empty selection (the app and the
  format's libraries loaded, no rows), so the ratio shows what the rows add. Target: under 150 MB.
- `export_long_csv_combined_pss_mb`, `export_{parquet,sav,dta}_combined_pss_mb`: the highest sum of the
  proportional set size of the export process and its helpers at one moment (sampled every 20 ms from
  /proc/PID/smaps_rollup), so memory moved into a helper still counts, and the libraries both map (Python
  itself, libc, SQLite) count once rather than twice; the note gives the sum of resident sizes too.
  Target: under 150 MB.
- `export_parquet_s`, `export_sav_s`, `export_dta_s`: value = seconds of the same export as Parquet, SPSS
  and Stata, baseline = the database dump, ratio = value / baseline (the CSV target of 2x, for comparison).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.demo_db import CACHE, DEMO_DAY, ROOT, demo_database, postgres_available
from bench.figures import figure

FULL_CLIENTS = 3600
QUICK_CLIENTS = 50
PROJECT = "Benchmark"
REQUIRED_TABLES = ("consent_records", "export_projects")


def _app(url: str, backend: str, clients: int) -> Any:
    from survey_app import create_app

    instance = CACHE / f"instance-{backend}-{clients}"
    return create_app("development", DATABASE_URL=url, SURVEY_INSTANCE_PATH=str(instance))


def _has_tables(url: str) -> bool:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return set(REQUIRED_TABLES) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def prepared_database(clients: int, backend: str) -> str:
    """The demo database with a project and a research consent for every client (rebuilt if its schema is
    old)."""
    url = demo_database(clients, backend)
    if not _has_tables(url):
        (CACHE / f"demo-{backend}-{clients}.done").unlink(missing_ok=True)
        url = demo_database(clients, backend)
    from sqlalchemy import insert, select

    from survey_app.extensions import db
    from survey_app.models import Client, ConsentRecord, ExportProject, Organisation
    from survey_app.services.consent import clients_with_consent

    moment = dt.datetime.fromisoformat(DEMO_DAY).replace(hour=12, tzinfo=dt.UTC)
    with _app(url, backend, clients).app_context():
        if db.session.scalar(select(ExportProject.id).where(ExportProject.name == PROJECT)) is None:
            organisation = db.session.scalars(select(Organisation).order_by(Organisation.id)).first()
            assert organisation is not None, "the demo database has no organisation"
            db.session.add(ExportProject(organisation_id=organisation.id, name=PROJECT))
        consenting = clients_with_consent("research", at=moment)
        missing = db.session.scalars(select(Client.id).where(Client.id.not_in(consenting))).all()
        if missing:
            db.session.execute(
                insert(ConsentRecord),
                [
                    {
                        "client_id": client_id,
                        "purpose": "research",
                        "granted": True,
                        "text_version": "bench",
                        "recorded_at": moment,
                    }
                    for client_id in missing
                ],
            )
        db.session.commit()
        db.engine.dispose()
    return url


#: A selection that matches no session: the floor of an export process (app and libraries, no rows).
EMPTY_FROM = dt.date(2999, 1, 1)


def child(url: str, backend: str, clients: int, file_format: str, out: str, empty: bool = False) -> None:
    """In a child process: run one long-layout export and print its seconds and rows as JSON."""
    from sqlalchemy import select

    from survey_app.cli.export import render_codebook
    from survey_app.db import deferred_transaction
    from survey_app.extensions import db
    from survey_app.i18n import timezone
    from survey_app.models import ExportProject
    from survey_app.models.base import utcnow
    from survey_app.services.exports import (
        ExportFilters,
        ExportRequest,
        check_request,
        load_research_key,
        project_secret,
        write_export,
    )

    app = _app(url, backend, clients)
    with app.app_context():
        project = db.session.scalars(select(ExportProject).where(ExportProject.name == PROJECT)).one()
        filters = ExportFilters(submitted_from=EMPTY_FROM) if empty else ExportFilters()
        request = ExportRequest("long", file_format, filters)
        selection = check_request(db.session, project, request, as_of=utcnow(), timezone=timezone())
        secret = project_secret(load_research_key(Path(app.instance_path)), project)
        db.session.commit()
        start = time.perf_counter()
        with deferred_transaction(db.session) as reading:
            outcome = write_export(
                reading,
                selection,
                secret=secret,
                data_path=Path(out),
                render_html=render_codebook,
                fhir_base="https://recovery-outcomes.example/fhir",
            )
        seconds = time.perf_counter() - start
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rows": outcome.rows, "own_mb": own_mb}))


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc)."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                waiting.extend(int(child) for child in children.read_text().split())
            except OSError:  # the process ended meanwhile
                continue
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(resident now, highest resident so far) of a process, in kB; zeros once it has ended."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0, 0
    values = {
        line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("VmRSS", "VmHWM"))
    }
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def _proportional_kb(pid: int) -> int:
    """The process's proportional set size in kB (each shared page divided among the processes sharing it)."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith("Pss:")), 0)


def _is_helper(pid: int) -> bool:
    """Whether `pid` runs an app module (between fork and exec it still shows its parent's memory)."""
    try:
        return b"survey_app." in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class TreeSampler:
    """Samples a process and its helpers every 20 ms: the highest sum of their resident memory, and the
    highest resident memory of each helper (wait4 cannot tell it: a child started with fork and exec
    inherits its parent's peak)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self.peak_pss_kb = pid, 0, 0
        self.helpers_kb: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(0.02):
            total = proportional = 0
            for pid in _tree(self.pid):
                resident, highest = _memory_kb(pid)
                total += resident
                proportional += _proportional_kb(pid)
                if pid != self.pid and _is_helper(pid):
                    self.helpers_kb[pid] = max(highest, self.helpers_kb.get(pid, 0))
            self.peak_kb = max(self.peak_kb, total)
            self.peak_pss_kb = max(self.peak_pss_kb, proportional)

    def stop(self) -> tuple[float, float, float]:
        """Stop sampling: the highest resident sum, proportional sum and helper, in MB."""
        self.done.set()
        self.thread.join()
        helper = max(self.helpers_kb.values(), default=0) / 1024
        return self.peak_kb / 1024, self.peak_pss_kb / 1024, helper


def measure(
    url: str, backend: str, clients: int, file_format: str, folder: Path, *, empty: bool = False
) -> dict[str, float]:
    """Run an export in its own process: its seconds and rows, and the peak resident memory (MB) of the
    export process, of its largest helper, the larger of the two (`peak_mb`), and of both at once."""
    out = folder / f"export.{file_format}"
    command = [sys.executable, "-m", "bench.bench_exports", url, backend, str(clients), file_format, str(out)]
    command += ["empty"] if empty else []
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    combined, proportional, helper = sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"the {file_format} export failed (exit {process.returncode})")
    result = json.loads(output.strip().splitlines()[-1])
    # wait4 reports the largest of the process and every descendant it waited for (its helpers).
    result["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    result["helper_mb"] = helper
    result["combined_mb"] = max(combined, result["peak_mb"])
    result["combined_pss_mb"] = proportional
    return result


def dump_sqls(url: str, backend: str, clients: int) -> list[str]:
    """The database's own queries for the same rows (each answer with its session's facts), as SQL text.

    Two shapes: everything joined in one query, and the sessions computed once (a materialised CTE) then
    joined with the answers. Each database plans them differently; the baseline is the faster.
    """
    from sqlalchemy import Text, cast, select

    from survey_app.extensions import db
    from survey_app.i18n import timezone
    from survey_app.models import Answer, AssessmentSession, ExportProject
    from survey_app.models.base import utcnow
    from survey_app.services.exports import ExportRequest, check_request
    from survey_app.services.exports.layouts import session_query

    with _app(url, backend, clients).app_context():
        project = db.session.scalars(select(ExportProject).where(ExportProject.name == PROJECT)).one()
        selection = check_request(
            db.session, project, ExportRequest("long", "csv"), as_of=utcnow(), timezone=timezone()
        )
        joined = (
            session_query(selection)
            .add_columns(Answer.questionnaire_version_id, Answer.item_id, cast(Answer.value, Text))
            .join(Answer, Answer.session_id == AssessmentSession.id)
            .where(Answer.questionnaire_version_id.in_(selection.version_ids))
            .order_by(None)
            .order_by(Answer.session_id, Answer.questionnaire_version_id, Answer.item_id)
        )
        first = session_query(selection).order_by(None).cte("s").prefix_with("MATERIALIZED")
        materialised = (
            select(*first.c, Answer.questionnaire_version_id, Answer.item_id, cast(Answer.value, Text))
            .join(Answer, Answer.session_id == first.c.id)
            .where(Answer.questionnaire_version_id.in_(selection.version_ids))
            .order_by(Answer.session_id, Answer.questionnaire_version_id, Answer.item_id)
        )
        queries = (joined, materialised)
        sqls = [str(q.compile(db.engine, compile_kwargs={"literal_binds": True})) for q in queries]
        db.engine.dispose()
    return [" ".join(sql.split()) for sql in sqls]


def _dump(url: str, backend: str, sql: str, target: Path) -> float:
    if backend == "sqlite":
        if shutil.which("sqlite3") is None:
            raise RuntimeError("the sqlite3 command is missing: apt-get install -y sqlite3")
        command = ["sqlite3", "-csv", "-header", url.removeprefix("sqlite:///")]
        stdin = sql + ";\n"
    else:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        command = ["psql", "-X", "-q", plain, "-c", f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"]
        stdin = ""
    start = time.perf_counter()
    with target.open("w") as handle:
        subprocess.run(command, input=stdin, stdout=handle, text=True, check=True)
    return time.perf_counter() - start


def dump_seconds(url: str, backend: str, clients: int, folder: Path) -> float:
    """Seconds the database's own CSV dump of the rows takes (sqlite3 -csv, or COPY ... TO STDOUT)."""
    return min(_dump(url, backend, sql, folder / "dump.csv") for sql in dump_sqls(url, backend, clients))


def _ratio(
    backend: str, clients: int, folder: Path, rounds: int
) -> tuple[dict[str, Any], dict[str, float], float]:
    """The CSV export against the dump (alternating, best of `rounds` each); the best export run, the dump."""
    url = prepared_database(clients, backend)
    exports, dumps = [], []
    for _ in range(rounds):
        exports.append(measure(url, backend, clients, "csv", folder))
        dumps.append(dump_seconds(url, backend, clients, folder))
    best = min(exports, key=lambda run: run["seconds"])
    dump = min(dumps)
    note = (
        f"{int(best['rows']):,} answers ({clients:,} demo clients); seconds of the export vs seconds of the "
        f"database's own CSV dump of the same rows; best of {rounds}"
    )
    ratio = figure(
        best["seconds"], "s", baseline=dump, target=2.0, target_on="ratio", higher_is_better=False, note=note
    )
    return ratio, best, dump


def _memory(result: dict[str, float], floor: dict[str, float], label: str) -> dict[str, Any]:
    """The peak of the largest process, with the export process, its largest helper and both at once."""
    note = (
        f"peak resident memory of the largest process that exported {int(result['rows']):,} answers as "
        f"{label}: the export process {result['own_mb']:.1f} MB, its largest helper "
        f"{result['helper_mb']:.1f} MB (0: none; both at once: the combined figure); baseline: the same "
        f"export of an empty selection (app and libraries loaded, no rows)"
    )
    measured = figure(
        result["peak_mb"], "MB", baseline=floor["peak_mb"], target=150, higher_is_better=False, note=note
    )
    measured.update(export_process_mb=round(result["own_mb"], 1), helper_mb=round(result["helper_mb"], 1))
    return measured


def _combined(result: dict[str, float], floor: dict[str, float], label: str) -> dict[str, Any]:
    note = (
        f"highest sum of the proportional set size (PSS: a page shared by both counts half in each) of the "
        f"export process and its helpers at the same moment (sampled every 20 ms) while exporting "
        f"{int(result['rows']):,} answers as {label}; the sum of their resident sizes, which counts shared "
        f"pages twice, peaked at {result['combined_mb']:.1f} MB; baseline: the same for an empty selection"
    )
    return figure(
        result["combined_pss_mb"],
        "MB",
        baseline=floor["combined_pss_mb"],
        target=150,
        higher_is_better=False,
        note=note,
    )


#: The formats measured besides CSV: (format, label in the notes, key in the figure names).
OTHER_FORMATS = (("parquet", "Parquet"), ("sav", "SPSS"), ("dta", "Stata"))


def run(quick: bool) -> dict[str, dict[str, Any]]:
    """The export figures."""
    clients = QUICK_CLIENTS if quick else FULL_CLIENTS
    rounds = 1 if quick else 2
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = prepared_database(clients, "sqlite")
        figures["export_long_csv_ratio_vs_dump_sqlite"], csv_run, dump = _ratio(
            "sqlite", clients, folder, rounds
        )
        floors = {
            f: measure(url, "sqlite", clients, f, folder, empty=True)
            for f in ("csv", *(f for f, _ in OTHER_FORMATS))
        }
        figures["export_long_csv_peak_rss_mb"] = _memory(csv_run, floors["csv"], "CSV")
        figures["export_long_csv_combined_pss_mb"] = _combined(csv_run, floors["csv"], "CSV")
        if postgres_available():
            figures["export_long_csv_ratio_vs_dump_postgres"], _, _ = _ratio(
                "postgres", clients, folder, rounds
            )
        else:
            print("  PostgreSQL is not reachable: no PostgreSQL figure", file=sys.stderr)
        for file_format, label in OTHER_FORMATS:
            result = measure(url, "sqlite", clients, file_format, folder)
            figures[f"export_{file_format}_s"] = figure(
                result["seconds"],
                "s",
                baseline=dump,
                target=None,
                higher_is_better=False,
                note=f"{int(result['rows']):,} answers, long layout, SQLite; baseline: the database's own "
                "CSV dump of the same rows (for comparison: the CSV export's target is a ratio of 2)",
            )
            figures[f"export_{file_format}_peak_rss_mb"] = _memory(result, floors[file_format], label)
            figures[f"export_{file_format}_combined_pss_mb"] = _combined(result, floors[file_format], label)
    return figures


if __name__ == "__main__":
    child(
        sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], empty=sys.argv[6:] == ["empty"]
    )
