"""Publication: a published file never changes, versions follow each other, the registry serves them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survey_app.questionnaires.registry import (
    PublicationError,
    QuestionnaireRegistry,
    publication_problems,
    record_publication,
    verify_publications,
)
from tests.builders import document, dump


def write(directory: Path, key: str, version: int, **overrides: object) -> Path:
    path = directory / key / f"v{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(document(key=key, version=version, **overrides)), encoding="utf-8")
    return path


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    directory = tmp_path / "questionnaires"
    directory.mkdir()
    return directory


def test_publishing_records_the_hash_and_the_registry_serves_the_latest(bank: Path) -> None:
    record_publication(bank, write(bank, "rses", 1))
    record_publication(bank, write(bank, "rses", 2))
    manifest = json.loads((bank / "published.json").read_text())
    assert list(manifest["published"]) == ["rses/v1.yaml", "rses/v2.yaml"]
    registry = QuestionnaireRegistry(bank)
    assert registry.versions("rses") == [1, 2]
    assert registry.get("rses").version == 2
    assert registry.get("rses", 1).version == 1


def test_a_published_file_that_changes_is_refused_with_what_to_do(bank: Path) -> None:
    path = write(bank, "rses", 1)
    record_publication(bank, path)
    path.write_text(path.read_text().replace("Question q1", "Question one"), encoding="utf-8")
    assert publication_problems(bank) == [
        "questionnaires/rses/v1.yaml changed after publication; publish the change as v2"
    ]
    with pytest.raises(
        PublicationError, match=r"rses/v1\.yaml changed after publication; publish the change as v2"
    ):
        verify_publications(bank)
    with pytest.raises(PublicationError, match="changed after publication"):
        QuestionnaireRegistry(bank).get("rses", 1)


def test_line_endings_do_not_count_as_a_change(bank: Path) -> None:
    path = write(bank, "rses", 1)
    record_publication(bank, path)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert publication_problems(bank) == []


def test_a_deleted_published_file_is_reported(bank: Path) -> None:
    path = write(bank, "rses", 1)
    record_publication(bank, path)
    path.unlink()
    assert publication_problems(bank) == [
        "questionnaires/rses/v1.yaml was published but is missing; restore it from version control"
    ]


def test_versions_are_published_in_order_and_only_once(bank: Path) -> None:
    with pytest.raises(PublicationError, match="the next version of 'rses' is v1, not v2"):
        record_publication(bank, write(bank, "rses", 2))
    record_publication(bank, write(bank, "rses", 1))
    with pytest.raises(PublicationError, match="already published"):
        record_publication(bank, bank / "rses" / "v1.yaml")


def test_drafts_are_not_served(bank: Path) -> None:
    write(bank, "rses", 1)
    registry = QuestionnaireRegistry(bank)
    with pytest.raises(KeyError, match="no published questionnaire 'rses'"):
        registry.get("rses")


def test_a_damaged_manifest_is_reported(bank: Path) -> None:
    (bank / "published.json").write_text('{"published": {"../../etc/passwd": "x"}}')
    with pytest.raises(PublicationError, match="damaged"):
        publication_problems(bank)


def test_the_app_refuses_to_start_when_a_published_file_changed(bank: Path, tmp_path: Path) -> None:
    from config import ConfigError
    from survey_app import create_app

    path = write(bank, "rses", 1)
    record_publication(bank, path)
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
        "SURVEY_INSTANCE_PATH": str(tmp_path),
        "QUESTIONNAIRE_DIR": str(bank),
    }
    create_app("testing", **settings)
    path.write_text(path.read_text().replace("Question q1", "Question one"), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"rses/v1\.yaml changed after publication; publish the change as v2"
    ):
        create_app("testing", **settings)
