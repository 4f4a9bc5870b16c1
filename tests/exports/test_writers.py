"""The pure parts: pseudonyms and the research key, variable names, CSV cells and SPSS/Stata round trips."""

from __future__ import annotations

import hashlib
import hmac
import io
import stat
import struct
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from survey_app.exports.csv_out import neutralise, write_csv
from survey_app.exports.names import spss_names, stata_names
from survey_app.exports.spss_stata import write_dta, write_sav
from survey_app.exports.table import TEXT, Variable
from survey_app.services.exports import ExportError, load_research_key, pseudonymiser


def test_a_pseudonym_is_the_hmac_of_the_client_id_under_the_project_secret() -> None:
    secret = b"s" * 32
    pseudonym = pseudonymiser(secret)
    assert pseudonym(42) == hmac.new(secret, b"42", hashlib.sha256).hexdigest()[:32]
    assert pseudonym(42) == pseudonym(42) != pseudonymiser(b"t" * 32)(42)
    assert pseudonym(42) != hashlib.sha256(b"42").hexdigest()[:32]


def test_the_research_key_lives_in_a_private_instance_file_or_the_environment(tmp_path: Path) -> None:
    key = load_research_key(tmp_path, {})
    assert len(key) == 32 and load_research_key(tmp_path, {}) == key
    assert stat.S_IMODE((tmp_path / "research_key").stat().st_mode) == 0o600
    assert load_research_key(tmp_path, {"RESEARCH_PSEUDONYM_KEY": "ab" * 32}) == bytes.fromhex("ab" * 32)
    with pytest.raises(ExportError, match="shorter than 64"):
        load_research_key(tmp_path, {"RESEARCH_PSEUDONYM_KEY": "abcd"})


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx"])
def test_cells_that_could_start_a_formula_get_an_apostrophe(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


def test_csv_is_rfc_4180_with_crlf_quotes_and_untouched_numbers() -> None:
    stream = io.StringIO(newline="")
    variables = [Variable("text", "Text", TEXT, width=20), Variable("number", "Number")]
    result = write_csv(variables, [('say "hi", then\nleave', -3), ("=cmd", None)], stream)
    assert stream.getvalue() == 'text,number\r\n"say ""hi"", then\nleave",-3\r\n\'=cmd,\r\n'
    assert (result.rows, result.neutralised_cells) == (2, 1)


def test_long_names_are_shortened_deterministically_and_uniquely() -> None:
    long = "functioning_housing_situation_satisfaction_t12m"
    variables = [
        Variable(long, ""),
        Variable(long + "x", ""),
        Variable("with", ""),
        Variable("who5_raw_t0", ""),
    ]
    first, again = stata_names(variables), stata_names(variables)
    assert first == again and len(set(first.values())) == 4
    assert all(len(name) <= 32 for name in first.values()) and first["who5_raw_t0"] == "who5_raw_t0"
    assert first["with"] == "with_" and spss_names(variables)[long] == long


def test_spss_and_stata_stream_many_rows_and_read_back_exactly(tmp_path: Path) -> None:
    variables = [
        Variable("pseudonym", "Pseudonym", TEXT, width=8),
        Variable("score", "Score", decimals=2),
        Variable("answer", "Answer", integer=True, value_labels={1: "Yes", 0: "No"}),
        Variable("note", "Note", TEXT, width=600),
    ]
    rows = [(f"p{n:07d}", n / 8 if n % 7 else None, n % 2, "é" * (n % 300)) for n in range(3000)]
    for writer, reader in ((write_sav, pyreadstat.read_sav), (write_dta, pyreadstat.read_dta)):
        path = tmp_path / f"rows.{writer.__name__[-3:]}"
        assert writer(variables, iter(rows), path).rows == 3000
        frame, meta = reader(str(path))
        assert list(frame["pseudonym"]) == [row[0] for row in rows]
        assert frame["score"].isna().sum() == sum(1 for row in rows if row[1] is None)
        assert list(frame["note"]) == [row[3] for row in rows]
        assert meta.variable_value_labels["answer"] == {1: "Yes", 0: "No"}
    stata = pd.read_stata(tmp_path / "rows.dta")
    assert len(stata) == 3000 and stata["answer"].iloc[1] == "Yes"


def _sav_case_counts(data: bytes) -> tuple[int, int]:
    """The case count of an SPSS file's header and of its extended number-of-cases record (7, subtype 16)."""
    (header,) = struct.unpack_from("<i", data, 80)
    record = data.index(struct.pack("<4i", 7, 16, 8, 2))
    byte_order, extended = struct.unpack_from("<2q", data, record + 16)
    assert byte_order == 1
    return header, extended


@pytest.mark.parametrize("count", [0, 1, 2500])
def test_spss_header_and_extended_record_both_hold_the_number_of_cases(tmp_path: Path, count: int) -> None:
    variables = [Variable("pseudonym", "Pseudonym", TEXT, width=8), Variable("score", "Score")]
    path = tmp_path / "cases.sav"
    write_sav(variables, iter((f"p{n}", float(n)) for n in range(count)), path)
    assert _sav_case_counts(path.read_bytes()) == (count, count)
    assert pyreadstat.read_sav(str(path))[1].number_rows == count
