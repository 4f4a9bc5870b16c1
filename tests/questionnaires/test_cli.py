"""The `flask questionnaires` commands; `score` and `rci` print a JSON contract other tools depend on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from flask import Flask

from tests.builders import document, dump

BANK = Path(__file__).resolve().parents[2] / "questionnaires"


def run(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(args=["questionnaires", *args])
    return result.exit_code, result.stdout, result.stderr


def test_score_prints_the_documented_json(app: Flask) -> None:
    code, out, _ = run(app, "score", "who5", "--answers", "3,2,2,3,2")
    assert code == 0
    assert json.loads(out) == {
        "key": "who5",
        "version": 1,
        "scales": {
            "raw": {"value": 12, "band": "low_wellbeing", "prorated": False, "missing": 0},
            "percentage": {"value": 48, "band": None, "prorated": False, "missing": 0},
        },
        "flags": [],
    }


def test_score_with_missing_answers_prorates_or_gives_null(app: Flask) -> None:
    code, out, _ = run(app, "score", "phq9", "--version", "1", "--answers", "2,2,1,2,1,1,1,1,")
    result = json.loads(out)
    assert code == 0
    assert result["scales"]["total"] == {"value": 12.375, "band": "moderate", "prorated": True, "missing": 1}
    assert result["flags"] == ["item9_unanswered"]
    code, out, _ = run(app, "score", "who5", "--answers", "5,4,3,4,")
    assert json.loads(out)["scales"]["raw"]["value"] is None


def test_score_names_each_bad_item_and_exits_2(app: Flask) -> None:
    code, _, err = run(app, "score", "phq9", "--answers", "0,7,1,x,0,0,0,0,0")
    assert code == 2
    assert "item 2 (phq9_down): 7 is not an answer code" in err
    assert "item 4 (phq9_tired): 'x' is not a whole number" in err
    code, _, err = run(app, "score", "who5", "--answers", "1,1,1,1,1,1")
    assert code == 2 and "6 answers given, but who5 v1 has 5 items" in err


def test_score_unknown_key_or_version(app: Flask) -> None:
    code, _, err = run(app, "score", "nope", "--answers", "1")
    assert code == 2 and "no published questionnaire 'nope'" in err
    code, _, err = run(app, "score", "who5", "--version", "9", "--answers", "1")
    assert code == 2 and "'who5' has no published version 9" in err


def test_rci_prints_the_documented_json(app: Flask) -> None:
    code, out, _ = run(app, "rci", "who5", "percentage", "--from", "40", "--to", "68")
    assert code == 0
    assert json.loads(out) == {"rci": 2.329, "change": "reliable_improvement", "threshold": 23.56}
    code, out, _ = run(app, "rci", "who5", "percentage", "--from", "68", "--to", "40", "--version", "1")
    assert json.loads(out)["change"] == "reliable_deterioration"


def test_rci_without_published_parameters_says_so_and_exits_2(app: Flask) -> None:
    code, out, err = run(app, "rci", "rses", "total", "--from", "10", "--to", "20")
    assert code == 2
    assert out == ""
    assert "RCI not available for scale 'total'" in err
    code, _, err = run(app, "rci", "who5", "nope", "--from", "1", "--to", "2")
    assert code == 2 and "who5 v1 has no scale 'nope' (scales: raw, percentage)" in err
    code, _, err = run(app, "rci", "who5", "percentage", "--from", "-5", "--to", "2")
    assert code == 2 and "outside the range" in err


def test_unknown_option_is_a_usage_error(app: Flask) -> None:
    code, _, err = run(app, "score", "who5", "--answer", "1")
    assert code == 2 and "No such option" in err


def test_lint_reports_problems_with_file_and_line_and_exits_1(app: Flask, tmp_path: Path) -> None:
    broken = tmp_path / "demo" / "v1.yaml"
    broken.parent.mkdir()
    data = document()
    data["sections"][0]["items"][0]["txet"] = {"en": "x"}
    broken.write_text(dump(data), encoding="utf-8")
    code, out, err = run(app, "lint", str(broken))
    assert code == 1
    assert "demo/v1.yaml:" in out and "item q1: unknown key 'txet'" in out
    assert "1 problem(s) in 1 file checked" in err
    code, out, _ = run(app, "lint")
    assert code == 0 and "14 files checked: no problems." in out


def test_diff_between_two_published_versions(app: Flask, tmp_path: Path) -> None:
    bank = tmp_path / "questionnaires"
    shutil.copytree(BANK / "rses", bank / "rses")
    (bank / "published.json").write_text(
        json.dumps(
            {
                "published": {
                    "rses/v1.yaml": json.loads((BANK / "published.json").read_text())["published"][
                        "rses/v1.yaml"
                    ]
                }
            }
        )
    )
    source = (bank / "rses" / "v1.yaml").read_text(encoding="utf-8")
    changed = source.replace("version: 1", "version: 2", 1).replace(
        "On the whole, I am satisfied with myself.", "Overall, I am satisfied with myself."
    )
    (bank / "rses" / "v2.yaml").write_text(changed, encoding="utf-8")
    from survey_app.questionnaires.registry import record_publication

    record_publication(bank, bank / "rses" / "v2.yaml")
    app.config["QUESTIONNAIRE_DIR"] = str(bank)
    try:
        code, out, _ = run(app, "diff", "rses", "1", "2")
        assert code == 0
        assert "reworded  rses_satisfied: text changed in en" in out
        assert "total: NOT comparable: not declared comparable in v2" in out
        code, out, _ = run(app, "diff", "rses", "2", "1", "--json")
        assert json.loads(out)["items"][0]["change"] == "reworded"
    finally:
        app.config["QUESTIONNAIRE_DIR"] = str(BANK)


@pytest.mark.parametrize("args", [("diff", "rses", "1", "1"), ("diff", "rses", "1", "3")])
def test_diff_refuses_bad_versions(app: Flask, args: tuple[str, ...]) -> None:
    code, _, err = run(app, *args)
    assert code == 2 and err


def test_comparability_a_chain_implies_must_be_declared(app: Flask, tmp_path: Path) -> None:
    from survey_app.questionnaires.registry import read_manifest, record_publication

    bank = tmp_path / "questionnaires"

    def write(version: int, comparable_with: list[int]) -> Path:
        path = bank / "demo" / f"v{version}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        declared = [{"version": older} for older in comparable_with]
        path.write_text(dump(document(version=version, comparable_with=declared)), encoding="utf-8")
        return path

    record_publication(bank, write(1, []))
    record_publication(bank, write(2, [1]))
    write(3, [2])  # v2 joins v1, so v3 joining v2 joins v1 as well, but v3 does not say so
    app.config["QUESTIONNAIRE_DIR"] = str(bank)
    try:
        code, out, err = run(app, "lint", str(bank))
        assert code == 1, out + err
        assert "demo/v3.yaml" in out and "scale total" in out
        assert "comparable with v2, which is comparable with v1; declare v1 as well" in out
        code, _, err = run(app, "publish", str(bank / "demo" / "v3.yaml"))
        assert code == 1 and "declare v1 as well" in err and "nothing was published" in err
        assert "demo/v3.yaml" not in read_manifest(bank)
        write(3, [2, 1])
        code, out, err = run(app, "lint", str(bank))
        assert code == 0, out + err
    finally:
        app.config["QUESTIONNAIRE_DIR"] = str(BANK)


def test_comparability_must_name_a_published_version_and_its_items(app: Flask, tmp_path: Path) -> None:
    from survey_app.questionnaires.registry import record_publication

    bank = tmp_path / "questionnaires"
    (bank / "demo").mkdir(parents=True)
    (bank / "demo" / "v1.yaml").write_text(dump(document()), encoding="utf-8")
    record_publication(bank, bank / "demo" / "v1.yaml")
    draft = bank / "demo" / "v2.yaml"
    declared = [{"version": 1, "items": {"q1": "q1_typo"}, "scales": ["total"]}]
    draft.write_text(dump(document(version=2, comparable_with=declared)), encoding="utf-8")
    code, out, _ = run(app, "lint", str(draft))
    assert code == 1
    assert "v2 maps item q1 to 'q1_typo', which v1 does not have" in out
    (bank / "demo" / "v3.yaml").write_text(
        dump(document(version=3, comparable_with=[{"version": 2}])), encoding="utf-8"
    )
    code, out, _ = run(app, "lint", str(bank / "demo" / "v3.yaml"))
    assert code == 1 and "comparable with v2, which is not published" in out
