"""The command line: one clear line for configuration and database errors; staff accounts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/survey"
CLEARED = (
    "DATABASE_URL",
    "SECRET_KEY",
    "SURVEY_ENV",
    "SURVEY_INSTANCE_PATH",
    "SURVEY_TRACEBACK",
    "FLASK_APP",
)


def flask(
    args: list[str], tmp_path: Path, *, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app wsgi ARGS`` in a clean environment with its own instance folder."""
    environ = {key: value for key, value in os.environ.items() if key not in CLEARED}
    environ.update({"SURVEY_INSTANCE_PATH": str(tmp_path / "instance"), **env})
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """Non-zero exit, exactly one line on stderr naming the problem, no traceback."""
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("survey-app: ")
    assert "Traceback" not in result.stderr + result.stdout
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = flask(["db", "upgrade"], tmp_path, DATABASE_URL=UNREACHABLE)
    assert_one_line_error(result, "cannot use the database", "127.0.0.1:1", "check DATABASE_URL")


def test_a_wrong_database_url_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = flask(["db", "upgrade"], tmp_path, DATABASE_URL="mysql://user:hunter2@db/survey")
    assert_one_line_error(result, "DATABASE_URL must start with postgresql://")
    assert "hunter2" not in result.stderr
    assert not (tmp_path / "instance").exists()


def test_production_without_secret_key_is_one_line(tmp_path: Path) -> None:
    result = flask(["users", "list"], tmp_path, SURVEY_ENV="production", DATABASE_URL=UNREACHABLE)
    assert_one_line_error(result, "SECRET_KEY is not set", "secrets.token_hex")


def test_a_database_without_tables_says_to_migrate(tmp_path: Path) -> None:
    result = flask(["users", "list"], tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert_one_line_error(result, "flask --app wsgi db upgrade")


def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_one_line_and_creates_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "typo" / "data"
    result = flask(["db", "upgrade"], tmp_path, DATABASE_URL=f"sqlite:///{folder / 'survey.sqlite3'}")
    assert_one_line_error(result, "does not exist", str(folder), "DATABASE_URL")
    assert not (tmp_path / "typo").exists(), "a mistyped path must not get a new, empty database"


def test_a_file_that_is_not_a_database_is_one_line_and_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, just some text that happens to be here\n" * 20)
    before = notes.read_bytes()
    result = flask(["db", "upgrade"], tmp_path, DATABASE_URL=f"sqlite:///{notes}")
    assert_one_line_error(result, "cannot use the database", "not a database", "check DATABASE_URL")
    assert notes.read_bytes() == before


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused_because_it_forgets_everything(tmp_path: Path, url: str) -> None:
    result = flask(["db", "upgrade"], tmp_path, DATABASE_URL=url)
    assert_one_line_error(result, "in-memory", "DATABASE_URL=sqlite:///")


def test_an_instance_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    in_the_way = tmp_path / "instance"
    in_the_way.write_text("a file where the instance folder should be\n")
    result = flask(["users", "list"], tmp_path)
    assert_one_line_error(result, "SURVEY_INSTANCE_PATH", str(in_the_way))


@pytest.mark.parametrize(
    "content",
    [
        b'<<<<<<< HEAD\n{"published": {"rses/v2.yaml": "aa"}}\n=======\n{"published": {}}\n>>>>>>> theirs\n',
        b"\xff\xfe binary",
    ],
)
def test_a_damaged_questionnaire_manifest_is_one_line(tmp_path: Path, content: bytes) -> None:
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / "published.json").write_bytes(content)
    result = flask(["users", "list"], tmp_path, DATABASE_URL=UNREACHABLE, QUESTIONNAIRE_DIR=str(folder))
    assert_one_line_error(
        result, "questionnaires/published.json is damaged", "restore it from version control"
    )


def test_unknown_options_get_clicks_usage_error(tmp_path: Path) -> None:
    result = flask(["users", "list", "--colour"], tmp_path, DATABASE_URL=UNREACHABLE)
    assert result.returncode == 2
    assert (
        "No such option" in result.stderr and "--colour" in result.stderr and "Traceback" not in result.stderr
    )


@pytest.fixture
def migrated_url(fresh_database_url: str, tmp_path: Path) -> str:
    """A fresh database brought to the latest revision by ``flask db upgrade``."""
    result = flask(["db", "upgrade"], tmp_path, DATABASE_URL=fresh_database_url)
    assert result.returncode == 0, result.stderr
    return fresh_database_url


def test_staff_accounts_are_created_with_a_password_from_stdin_and_listed(
    migrated_url: str, tmp_path: Path
) -> None:
    created = flask(
        ["users", "create", "--email", "Admin@Example.org", "--role", "admin", "--name", "Ada Admin",
         "--organisation", "Demo Court", "--password-stdin"],
        tmp_path, stdin="a long enough passphrase\n", DATABASE_URL=migrated_url,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "Created organisation 'Demo Court'" in created.stdout
    assert "Created admin admin@example.org" in created.stdout
    listed = flask(["users", "list"], tmp_path, DATABASE_URL=migrated_url)
    assert listed.returncode == 0, listed.stderr
    assert "admin@example.org" in listed.stdout and "Demo Court" in listed.stdout and "never" in listed.stdout
    again = flask(
        ["users", "create", "--email", "admin@example.org", "--role", "admin", "--password-stdin"],
        tmp_path, stdin="a long enough passphrase\n", DATABASE_URL=migrated_url,
    )  # fmt: skip
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_short_password_is_refused_and_nothing_is_created(migrated_url: str, tmp_path: Path) -> None:
    result = flask(
        ["users", "create", "--email", "c@example.org", "--role", "counsellor", "--password-stdin"],
        tmp_path, stdin="short\n", DATABASE_URL=migrated_url,
    )  # fmt: skip
    assert result.returncode == 1
    assert "at least 8 characters" in result.stderr
    listed = flask(["users", "list"], tmp_path, DATABASE_URL=migrated_url)
    assert "No staff accounts yet" in listed.stdout
    assert "Default organisation" not in listed.stdout


def test_names_longer_than_the_database_keeps_are_refused_with_a_message(
    migrated_url: str, tmp_path: Path
) -> None:
    too_long = "n" * 201
    for options, message in (
        (["--name", too_long], "The name (by default the part of the email before @) can have at most 200"),
        (["--organisation", too_long], "The organisation's name can have at most 200 characters"),
    ):
        result = flask(
            ["users", "create", "--email", "c@example.org", "--role", "counsellor", *options,
             "--password-stdin"],
            tmp_path, stdin="a long enough passphrase\n", DATABASE_URL=migrated_url,
        )  # fmt: skip
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert message in result.stderr
    listed = flask(["users", "list"], tmp_path, DATABASE_URL=migrated_url)
    assert "No staff accounts yet" in listed.stdout


def test_roles_are_checked_by_the_command(tmp_path: Path) -> None:
    result = flask(["users", "create", "--email", "x@example.org", "--role", "root"], tmp_path,
                   DATABASE_URL=UNREACHABLE)  # fmt: skip
    assert result.returncode == 2 and "Invalid value for '--role'" in result.stderr
