"""The published questionnaire files: the manifest of their hashes, the publication check and a registry.

Publishing a version records the sha256 of its file in `questionnaires/published.json`. From then on the file
must never change: the app refuses to start, and lint fails, when a published file no longer matches its
hash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from survey_app.domain.questionnaire import Questionnaire
from survey_app.questionnaires.diff import declaration_problems
from survey_app.questionnaires.loader import (
    content_hash,
    display_name,
    expected_identity,
    load_questionnaire_file,
)
from survey_app.questionnaires.problems import Problem, ProblemCollector, QuestionnaireError
from survey_app.questionnaires.yaml_source import decode_source, read_capped, read_yaml

MANIFEST_NAME = "published.json"
_RELATIVE = re.compile(r"^[a-z][a-z0-9_]{0,63}/v[1-9][0-9]{0,2}\.yaml$")


class PublicationError(RuntimeError):
    """A published questionnaire file was changed or removed, or a publication is not allowed."""


@dataclass(frozen=True, slots=True)
class PublishedFile:
    """One published version: where its file is and the hash recorded when it was published."""

    key: str
    version: int
    path: Path
    digest: str

    @property
    def relative_name(self) -> str:
        """The manifest's name for the file, e.g. `rses/v1.yaml`."""
        return f"{self.key}/v{self.version}.yaml"


def manifest_path(directory: Path) -> Path:
    """Where the manifest of a questionnaire directory lives."""
    return directory / MANIFEST_NAME


def read_manifest(directory: Path) -> dict[str, str]:
    """The recorded hashes: `<key>/v<N>.yaml` -> sha256 hex (empty when nothing is published yet)."""
    path = manifest_path(directory)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:  # not JSON (a merge left conflict markers, say) or not UTF-8
        data = None
    entries = data.get("published", {}) if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not all(
        isinstance(name, str) and _RELATIVE.match(name) and isinstance(digest, str)
        for name, digest in entries.items()
    ):
        raise PublicationError(
            f"{path.parent.name}/{MANIFEST_NAME} is damaged; restore it from version control"
        )
    return dict(entries)


def write_manifest(directory: Path, entries: dict[str, str]) -> None:
    """Write the manifest atomically, sorted so that its history diffs cleanly."""
    path = manifest_path(directory)
    document = {
        "about": "sha256 of every published questionnaire file; a published file never changes. "
        "See docs/questionnaire-format.md.",
        "published": dict(sorted(entries.items(), key=lambda entry: _sort_key(entry[0]))),
    }
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def _sort_key(name: str) -> tuple[str, int]:
    key, file_name = name.split("/")
    return key, int(file_name[1:-5])


def published_files(directory: Path) -> list[PublishedFile]:
    """Every version the manifest lists, in key and version order."""
    files = []
    for name, digest in read_manifest(directory).items():
        key, file_name = name.split("/")
        files.append(PublishedFile(key, int(file_name[1:-5]), directory / key / file_name, digest))
    return sorted(files, key=lambda published: (published.key, published.version))


def publication_problems(directory: Path) -> list[str]:
    """Published files that changed or disappeared since publication, as messages saying what to do."""
    problems = []
    published = published_files(directory)
    latest: dict[str, int] = {}
    for entry in published:
        latest[entry.key] = max(latest.get(entry.key, 0), entry.version)
    for entry in published:
        shown = f"{directory.name}/{entry.relative_name}"
        if not entry.path.exists():
            problems.append(f"{shown} was published but is missing; restore it from version control")
        elif content_hash(entry.path.read_bytes()) != entry.digest:
            problems.append(
                f"{shown} changed after publication; publish the change as v{latest[entry.key] + 1}"
            )
    return problems


def verify_publications(directory: Path) -> None:
    """Raise PublicationError naming every published file that changed (the start-up check)."""
    problems = publication_problems(directory)
    if problems:
        raise PublicationError("; ".join(problems))


def record_publication(directory: Path, path: Path) -> PublishedFile:
    """Add a checked file to the manifest as a new published version (the next version of its key)."""
    key, version = expected_identity(path)
    if version is None or key is None or path.parent.parent.resolve() != directory.resolve():
        raise PublicationError(f"publish files named {directory.name}/<key>/v<N>.yaml")
    entries = read_manifest(directory)
    name = f"{key}/v{version}.yaml"
    digest = content_hash(path.read_bytes())
    if name in entries:
        if entries[name] == digest:
            raise PublicationError(f"{directory.name}/{name} is already published")
        raise PublicationError(
            f"{directory.name}/{name} changed after publication; publish the change as a new version"
        )
    versions = [int(entry.split("/")[1][1:-5]) for entry in entries if entry.startswith(f"{key}/")]
    expected = max(versions, default=0) + 1
    if version != expected:
        raise PublicationError(f"the next version of '{key}' is v{expected}, not v{version}")
    entries[name] = digest
    write_manifest(directory, entries)
    return PublishedFile(key, version, path, digest)


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A file that passed its own checks: its name in messages, its text, the folder it is published in."""

    name: str
    text: str
    folder: Path
    questionnaire: Questionnaire


def checked_files(paths: Iterable[Path]) -> list[CheckedFile]:
    """The files that load, each for the folder it sits in (the others' problems are reported elsewhere)."""
    checked = []
    for path in paths:
        try:
            questionnaire = load_questionnaire_file(path)
        except QuestionnaireError:
            continue
        text = decode_source(read_capped(path))
        checked.append(CheckedFile(display_name(path), text, path.resolve().parent.parent, questionnaire))
    return checked


def declarations_beside_published(files: Iterable[CheckedFile]) -> list[Problem]:
    """Problems of the files' `comparable_with`, judged with each other and the versions published beside.

    A file stands in for the published version of the same key and version. Both `flask questionnaires lint`
    and the admin upload check call this, so an upload is refused for the same reasons as a file.
    """
    given = list(files)
    identities = {(file.questionnaire.key, file.questionnaire.version) for file in given}
    published = checked_files(
        entry.path
        for folder in {file.folder for file in given}
        for entry in _published_or_none(folder)
        if (entry.key, entry.version) not in identities
    )
    versions: dict[str, dict[int, Questionnaire]] = {}
    for file in [*published, *given]:
        versions.setdefault(file.questionnaire.key, {})[file.questionnaire.version] = file.questionnaire
    problems: list[Problem] = []
    for file in given:
        messages = declaration_problems(file.questionnaire, versions[file.questionnaire.key])
        if messages:
            collector = ProblemCollector(file.name, read_yaml(file.text))
            for message in messages:
                collector.add(("comparable_with",), message)
            problems.extend(collector.problems)
    return problems


def _published_or_none(folder: Path) -> list[PublishedFile]:
    try:
        return published_files(folder)
    except PublicationError:  # a damaged manifest: reported where the configured folder is checked
        return []


class QuestionnaireRegistry:
    """The published questionnaires of a directory, loaded on first use and kept (they never change)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files = {(entry.key, entry.version): entry for entry in published_files(directory)}
        self._loaded: dict[tuple[str, int], Questionnaire] = {}

    def keys(self) -> list[str]:
        """Every published key, sorted."""
        return sorted({key for key, _ in self._files})

    def versions(self, key: str) -> list[int]:
        """The published versions of a key, oldest first."""
        return sorted(version for entry_key, version in self._files if entry_key == key)

    def published(self) -> list[PublishedFile]:
        """Every published file, in key and version order."""
        return [self._files[identity] for identity in sorted(self._files)]

    def get(self, key: str, version: int | None = None) -> Questionnaire:
        """A published version (the latest when `version` is None); KeyError saying what exists if unknown."""
        versions = self.versions(key)
        if not versions:
            known = ", ".join(self.keys()) or "none"
            raise KeyError(f"no published questionnaire '{key}' (published: {known})")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise KeyError(
                f"'{key}' has no published version {chosen} (published: {', '.join(map(str, versions))})"
            )
        if (key, chosen) not in self._loaded:
            entry = self._files[(key, chosen)]
            questionnaire = load_questionnaire_file(entry.path)
            if questionnaire.content_hash != entry.digest:
                raise PublicationError(
                    f"{self.directory.name}/{entry.relative_name} changed after publication; "
                    f"publish the change as v{versions[-1] + 1}"
                )
            self._loaded[(key, chosen)] = questionnaire
        return self._loaded[(key, chosen)]
