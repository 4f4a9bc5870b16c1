"""Rate limits on sign-in, the second step and the client's code entry, counted in a store every worker
process shares."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.extensions import db as _db
from survey_app.models import ClientCodeAttempt
from survey_app.services.rate_limits import SQLiteFileStorage, sqlite_storage_uri
from tests.conftest import PROJECT_ROOT, dispose_engines, make_app

Builder = Callable[..., Any]
REDIS = ("127.0.0.1", 6379)

#: One worker process: its own app on the shared database and instance folder, N posts of a code to
#: ``path`` under the limit ``name`` set to 2 per minute (a second step without a pending sign-in is a quick
#: redirect, a wrong client code a quick refusal; each is counted first).
WORKER = """
import json, re, sys
from survey_app import create_app
url, instance, attempts, storage, path, name = sys.argv[1:7]
overrides = {name: "2 per minute"}
if storage:
    overrides["RATELIMIT_STORAGE_URI"] = storage
app = create_app("testing", DATABASE_URL=url, SURVEY_INSTANCE_PATH=instance, **overrides)
client = app.test_client()
page = client.get("/auth/sign-in").get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
data = {"code": "ZZZZ-ZZZZ" if path == "/client/start" else "123456", "csrf_token": token}
statuses = [client.post(path, data=data).status_code for _ in range(int(attempts))]
print(json.dumps(statuses))
"""
#: The limited steps the workers try: path, limit, status of an attempt within the limit.
LIMITED_STEPS = {
    "second step": ("/auth/verify", "RATELIMIT_SECOND_FACTOR", 302),
    "client code": ("/client/start", "RATELIMIT_CLIENT_CODE_ADDRESS", 400),  # the count per address
}


@pytest.fixture
def limited_config(app: Flask) -> Iterator[None]:
    """Low limits for the session app, restored afterwards."""
    names = ("RATELIMIT_SIGN_IN", "RATELIMIT_SECOND_FACTOR", "RATELIMIT_CLIENT_CODE")
    saved = {key: app.config[key] for key in names}
    app.config.update(dict.fromkeys(names, "2 per minute"))
    yield
    app.config.update(saved)


def _post_sign_in(client: FlaskClient, token: str) -> int:
    data = {"email": "nobody@example.org", "password": "wrong password", "csrf_token": token}
    return client.post("/auth/sign-in", data=data).status_code


def test_sign_in_attempts_over_the_limit_get_a_429_with_retry_after(
    client: FlaskClient, csrf_token: Callable[..., str], limited_config: None
) -> None:
    token = csrf_token()
    assert [_post_sign_in(client, token) for _ in range(2)] == [200, 200]
    refused = client.post(
        "/auth/sign-in", data={"email": "a@example.org", "password": "x" * 9, "csrf_token": token}
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    body = refused.get_data(as_text=True)
    assert "Too many attempts" in body and "Traceback" not in body
    assert client.get("/auth/sign-in").status_code == 200  # reading the page is not limited


def test_the_second_step_is_limited_too(
    client: FlaskClient,
    make_staff: Builder,
    enrol_totp: Builder,
    csrf_token: Callable[..., str],
    limited_config: None,
) -> None:
    user = make_staff()
    enrol_totp(user)
    client.post(
        "/auth/sign-in",
        data={"email": user.email, "password": "correct horse battery staple", "csrf_token": csrf_token()},
    )
    token = csrf_token("/auth/verify")
    statuses = [
        client.post("/auth/verify", data={"code": "abcdef", "csrf_token": token}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_client_code_entry_over_the_limit_gets_the_code_page_again_with_a_429(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], limited_config: None
) -> None:
    token = csrf_token("/client/start")
    wrong = [client.post("/client/start", data={"code": "ZZZZ-ZZZZ", "csrf_token": token}) for _ in range(2)]
    assert [response.status_code for response in wrong] == [400, 400]
    refused = client.post("/client/start", data={"code": "ABCD-2345", "csrf_token": token})
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Too many tries. Please wait 1 minute, or ask your counsellor for help." in page
    assert 'name="code"' in page and "Traceback" not in page  # the code page, not the staff error page
    attempts = db.session.scalar(select(func.count()).select_from(ClientCodeAttempt))
    assert attempts == 2  # the refused post never reached the code check
    assert client.get("/client/start").status_code == 200  # reading the page is not limited


def _run_workers(
    url: str, instance: Path, storage: str, step: str, workers: int = 2, attempts: int = 3
) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    path, limit, _status = LIMITED_STEPS[step]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(instance), str(attempts), storage, path, limit],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    statuses: list[int] = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        statuses += json.loads(out.strip().splitlines()[-1])
    return statuses


@pytest.fixture
def shared_database(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A database with the schema, and an instance folder, for worker processes to share."""
    app = make_app(fresh_database_url, tmp_path / "instance")
    with app.app_context():
        _db.create_all()
    dispose_engines(app)
    yield fresh_database_url, tmp_path / "instance"


@pytest.mark.parametrize("step", sorted(LIMITED_STEPS))
def test_two_worker_processes_share_one_count_in_the_embedded_store(
    shared_database: tuple[str, Path], step: str
) -> None:
    url, instance = shared_database
    statuses = _run_workers(url, instance, storage="", step=step)
    allowed = LIMITED_STEPS[step][2]
    assert sorted(statuses) == [allowed] * 2 + [429] * 4  # 6 attempts from 2 processes, 2 allowed in all
    assert (instance / "rate-limits.sqlite3").exists()


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis at 127.0.0.1:6379")
def test_two_app_instances_share_one_count_in_redis(
    shared_database: tuple[str, Path], tmp_path: Path
) -> None:
    from limits.storage import storage_from_string

    storage = f"redis://{REDIS[0]}:{REDIS[1]}/{os.getpid() % 15 + 1}"
    storage_from_string(storage).reset()
    url, _ = shared_database
    apps = [
        make_app(
            url,
            tmp_path / f"worker{n}",
            RATELIMIT_STORAGE_URI=storage,
            RATELIMIT_SECOND_FACTOR="2 per minute",
        )
        for n in (1, 2)
    ]
    try:
        clients = [app.test_client() for app in apps]
        tokens = []
        for client in clients:
            page = client.get("/auth/sign-in").get_data(as_text=True)
            tokens.append(re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
        statuses = [
            clients[n % 2]
            .post("/auth/verify", data={"code": "123456", "csrf_token": tokens[n % 2]})
            .status_code
            for n in range(6)
        ]
    finally:
        storage_from_string(storage).reset()
        for app in apps:
            dispose_engines(app)
    assert statuses == [302, 302, 429, 429, 429, 429]


def test_the_file_store_counts_windows_and_forgets_them(tmp_path: Path) -> None:
    store = SQLiteFileStorage(sqlite_storage_uri(tmp_path / "limits.sqlite3"))
    other_process_view = SQLiteFileStorage(sqlite_storage_uri(tmp_path / "limits.sqlite3"))
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert other_process_view.get("k") == 3 and other_process_view.incr("k", 60) == 4
    assert store.get_expiry("k") > 0 and store.check()
    assert store.incr("gone", -1) == 1 and store.get("gone") == 0  # an expired window counts as empty
    store.clear("k")
    assert store.get("k") == 0
    assert store.reset() is not None and store.get("k") == 0


def test_workers_opening_a_new_counter_file_at_the_same_moment_all_count(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    for round_number in range(40):
        uri = sqlite_storage_uri(tmp_path / f"round-{round_number}" / "rate-limits.sqlite3")
        start = threading.Barrier(6)

        def count(storage: SQLiteFileStorage, start: threading.Barrier = start) -> None:
            start.wait()  # six workers open the new file at once
            try:
                storage.incr("sign-in", 60)
            except BaseException as error:  # collected and reported below
                failures.append(error)

        workers = [threading.Thread(target=count, args=(SQLiteFileStorage(uri),)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert failures == [], f"round {round_number}"
        assert SQLiteFileStorage(uri).get("sign-in") == 6
