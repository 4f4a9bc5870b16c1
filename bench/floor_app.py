"""The floor of the submission benchmark: a bare Flask + sqlite3 app that stores a 50-answer session.

    FLOOR_DB=/tmp/floor.sqlite3 gunicorn -c deploy/gunicorn.conf.py bench.floor_app:app

It takes exactly the request the app's JSON API takes (`POST /api/v1/sessions/<id>/submit` with
`{"idempotency_key", "answers": [{"questionnaire", "version", "item", "value"}, ...]}`), checks that the 50
values are 1 to 5, and in one `BEGIN IMMEDIATE` transaction stores a submission row (its key unique: a
retry replays) and the 50 answer rows, on SQLite with WAL and synchronous=NORMAL, one connection per thread.
No sign-in, client mode, CSRF, questionnaire version, skip rules, scoring or audit: the least any server
storing the same answers has to do.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from flask import Flask, abort, jsonify, request
from werkzeug.wrappers import Response

ITEMS = 50
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS submission (id INTEGER PRIMARY KEY, session TEXT NOT NULL UNIQUE,"
    " idempotency_key TEXT NOT NULL UNIQUE, received_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS answer (id INTEGER PRIMARY KEY, submission_id INTEGER NOT NULL,"
    " item TEXT NOT NULL, value INTEGER NOT NULL)",
)

app = Flask(__name__)
_local = threading.local()


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode with the floor's pragmas (the tables are made when missing)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        connection.execute(statement)
    return connection


def _connection() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = connect(os.environ["FLOOR_DB"])
    return connection


def _values(answers: object) -> list[tuple[str, int]]:
    if not isinstance(answers, list) or len(answers) != ITEMS:
        abort(400)
    values = []
    for answer in answers:
        item, value = (answer.get("item"), answer.get("value")) if isinstance(answer, dict) else (None, None)
        if not isinstance(item, str) or type(value) is not int or not 1 <= value <= 5:
            abort(400)
        values.append((item, value))
    return values


@app.get("/healthz")
def healthz() -> Response:
    """Ready when the database answers."""
    _connection().execute("SELECT 1")
    return jsonify({"status": "ok"})


@app.post("/api/v1/sessions/<session>/submit")
def submit(session: str) -> Response:
    """Store the 50 answers once per idempotency key."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("idempotency_key"), str):
        abort(400)
    key = body["idempotency_key"]
    values = _values(body.get("answers"))
    connection = _connection()
    connection.execute("BEGIN IMMEDIATE")
    try:
        earlier = connection.execute("SELECT 1 FROM submission WHERE idempotency_key = ?", (key,)).fetchone()
        if earlier is None:
            row = connection.execute(
                "INSERT INTO submission (session, idempotency_key, received_at) VALUES (?, ?, ?)",
                (session, key, time.time()),
            ).lastrowid
            connection.executemany(
                "INSERT INTO answer (submission_id, item, value) VALUES (?, ?, ?)",
                [(row, item, value) for item, value in values],
            )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    response = jsonify({"status": "submitted"})
    if earlier is not None:
        response.headers["Idempotent-Replayed"] = "true"
    return response
