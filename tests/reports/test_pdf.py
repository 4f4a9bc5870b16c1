"""The one PDF renderer: embedded app fonts only, tagged PDF/A-2a, language, title, real text, no fetching."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from survey_app.reports import pdf
from tests.reports.conftest import pdf_fonts, pdf_text

NAMES = ("محمد العربي", "שרה לוי", "Zażółć Gęślą-Jaźń", "Çağrı Şahin İğdır", "Ærøskøbing Nuñez")  # noqa: RUF001
HTML = """<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Proefverslag ABC-1234</title>
<meta name="author" content="Drugbehandelingskamer"></head><body><h1>Verslag</h1>
{names}<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"
font-family="{stack}">
<title>grafiek</title><text x="4" y="20" font-size="12">Score 42</text></svg></body></html>"""


def _document() -> bytes:
    names = "".join(f"<p>{name}</p>" for name in NAMES)
    return pdf.render_pdf(HTML.format(names=names, stack=pdf.FONT_STACK), stylesheets=())


def test_names_in_every_script_are_real_text_in_the_app_fonts_only() -> None:
    data = _document()
    text = pdf_text(data)
    for name in NAMES:
        for word in name.split():
            assert word in text, word
    assert "Score 42" in text  # SVG text is text too
    fonts = pdf_fonts(data)
    assert fonts and all(font.startswith(("Atkinson-Hyperlegible", "DejaVu-Sans")) for font in fonts), fonts
    assert any(font.startswith("DejaVu-Sans") for font in fonts)  # Arabic and Hebrew come from DejaVu Sans


def test_the_file_is_tagged_pdf_a_2a_with_language_and_title() -> None:
    reader = PdfReader(io.BytesIO(_document()))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "nl"
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"]
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfaid:part="2"' in xmp and 'pdfaid:conformance="A"' in xmp
    assert "Proefverslag ABC-1234" in xmp
    assert reader.metadata is not None and reader.metadata.title == "Proefverslag ABC-1234"
    assert "/OutputIntents" in root  # sRGB output intent, as PDF/A asks
    assert reader.pdf_header.endswith("1.7")


def test_every_font_is_embedded() -> None:
    reader = PdfReader(io.BytesIO(_document()))
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descendant = font.get_object()
            descriptor = (
                descendant.get("/FontDescriptor")
                or descendant["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            )
            descriptor = descriptor.get_object()
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), descendant


def test_only_the_app_font_and_style_files_can_be_read() -> None:
    fetcher = pdf._fetcher()
    for url in (
        "http://example.org/x.png",
        "https://example.org/x.css",
        "file:///etc/passwd",
        (Path(pdf.STATIC) / "css" / "app.css").as_uri(),
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    font = pdf.font_files()[0].as_uri()
    response = fetcher.fetch(font)
    assert response.read(4) == b"\x00\x01\x00\x00"  # the WOFF2 file, already decompressed to TrueType
    response.close()
    # A document pointing elsewhere still renders, without what it pointed at.
    data = pdf.render_pdf(
        '<html lang="en"><body><img src="http://example.org/x.png" alt="x"><p>Still here</p></body></html>',
        stylesheets=(),
    )
    assert "Still here" in pdf_text(data)


def test_a_missing_font_is_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pdf, "DEJAVU_FOLDER", tmp_path)
    with pytest.raises(pdf.FontsMissing, match="fonts-dejavu-core"):
        pdf.check_fonts()
