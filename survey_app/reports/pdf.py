"""The one way this app makes a PDF: WeasyPrint, with the app's own fonts, as PDF/A-2a, fetching nothing.

- Fonts: Atkinson Hyperlegible (vendored in `static/fonts/`, SIL OFL, drawn for low-vision readers) with
  Debian's DejaVu Sans (package fonts-dejavu-core) behind it for every script Atkinson lacks (Arabic,
  Hebrew, Greek, Cyrillic, ...). Fontconfig is given a configuration without any font directory, so no other
  installed font can ever be picked: the PDF looks the same on every machine. The Latin and Latin Extended
  files of Atkinson carry distinct family names: WeasyPrint names a PDF font after its family, weight and
  style, and two files under one name would share one glyph table (a Turkish "i" then comes out wrong).
- Variant: PDF/A-2a (archival, and tagged for assistive technology); see docs/reports.md.
- Metadata: the title from `<title>`, the language from `<html lang>`, author, description and dates from
  `<meta>` tags of the document.
- Nothing is fetched: only the font files above may be read; any other URL in a document is refused.

Font configurations and parsed stylesheets are kept per thread and reused (parsing the fonts is a good part
of a small document's time); WeasyPrint objects are never shared between threads. The vendored WOFF2 files
are decompressed once per process and handed to every thread's configuration as TrueType bytes.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent.parent / "static"
FONT_FOLDER = STATIC / "fonts"
REPORT_CSS = STATIC / "css" / "report.css"
#: Where Debian's fonts-dejavu-core puts DejaVu Sans (override with SURVEY_DEJAVU_DIR elsewhere).
DEJAVU_FOLDER = Path(os.environ.get("SURVEY_DEJAVU_DIR", "/usr/share/fonts/truetype/dejavu"))
#: The variant every PDF is written as, and the name of its sRGB output intent.
PDF_VARIANT = "pdf/a-2a"
OUTPUT_INTENT = "srgb-output-intent"
#: The font families a report may use, in order (for CSS and for the SVG charts' font-family attribute).
FONT_STACK = "'Atkinson Hyperlegible', 'Atkinson Hyperlegible Ext', 'DejaVu Sans'"
#: Stylesheets a document can ask for besides the fonts (always given).
STYLESHEETS = {"report": REPORT_CSS}

_ATKINSON = (
    ("Atkinson Hyperlegible", "latin-400-normal", "normal", 400),
    ("Atkinson Hyperlegible", "latin-700-normal", "normal", 700),
    ("Atkinson Hyperlegible", "latin-400-italic", "italic", 400),
    ("Atkinson Hyperlegible Ext", "latin-ext-400-normal", "normal", 400),
    ("Atkinson Hyperlegible Ext", "latin-ext-700-normal", "normal", 700),
    ("Atkinson Hyperlegible Ext", "latin-ext-400-italic", "italic", 400),
)
_DEJAVU = (
    ("DejaVuSans.ttf", "normal", 400),
    ("DejaVuSans-Bold.ttf", "normal", 700),
    ("DejaVuSans-Oblique.ttf", "italic", 400),
)
_EMPTY_FONTCONFIG = (
    '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
    "<fontconfig></fontconfig>\n"
)

_local = threading.local()
_fontconfig_lock = threading.Lock()
_fontconfig_file: Path | None = None
#: Every font configuration this process made (to remove their temporary font copies in `release`).
_font_folders: list[Any] = []


class FontsMissing(RuntimeError):
    """A font file the reports need is not installed (the message says which and how to install it)."""


def font_files() -> list[Path]:
    """Every font file a report may use: the vendored Atkinson files and Debian's DejaVu Sans."""
    atkinson = [FONT_FOLDER / f"atkinson-hyperlegible-{name}.woff2" for _, name, _, _ in _ATKINSON]
    return atkinson + [DEJAVU_FOLDER / name for name, _, _ in _DEJAVU]


def check_fonts() -> None:
    """Raise FontsMissing unless every font file is in place."""
    missing = [path for path in font_files() if not path.is_file()]
    if missing:
        raise FontsMissing(
            "PDF reports need these font files: "
            + ", ".join(str(path) for path in missing)
            + ". Install Debian's fonts-dejavu-core (make system-deps) and keep static/fonts/ complete."
        )


def fonts_css() -> str:
    """@font-face rules for every font, with file URLs."""
    rules = [
        f'@font-face {{ font-family: "{family}"; font-style: {style}; font-weight: {weight}; '
        f'src: url("{(FONT_FOLDER / f"atkinson-hyperlegible-{name}.woff2").as_uri()}"); }}'
        for family, name, style, weight in _ATKINSON
    ]
    rules += [
        f'@font-face {{ font-family: "DejaVu Sans"; font-style: {style}; font-weight: {weight}; '
        f'src: url("{(DEJAVU_FOLDER / name).as_uri()}"); }}'
        for name, style, weight in _DEJAVU
    ]
    rules.append(f"html {{ font-family: {FONT_STACK}; }}")
    return "\n".join(rules)


def _allowed_path(url: str) -> Path | None:
    """The app's font or style file that ``url`` names; None for any other URL."""
    if not url.startswith("file:"):
        return None
    from urllib.request import url2pathname

    path = Path(url2pathname(url.removeprefix("file:").split("?")[0])).resolve()
    allowed = any(path == known.resolve() for known in [*font_files(), *STYLESHEETS.values()])
    return path if allowed else None


@cache
def _decompressed_font(path: Path) -> bytes:
    """A WOFF2 font file as TrueType bytes, decompressed once per process.

    WeasyPrint would decompress it for every font configuration (each thread's first PDF): most of that
    first PDF's time.
    """
    from fontTools.ttLib import woff2

    out = io.BytesIO()
    woff2.decompress(io.BytesIO(path.read_bytes()), out)
    return out.getvalue()


def _fetcher() -> Any:
    """A URL fetcher that reads the app's font and style files and refuses every other URL."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalFilesOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            """The resource at `url` if it is one of the app's font or style files; ValueError otherwise."""
            path = _allowed_path(url)
            if path is None:
                raise ValueError("reports read no resources besides their own fonts and styles")
            if path.suffix == ".woff2":
                return URLFetcherResponse(url, _decompressed_font(path), {"Content-Type": "font/ttf"})
            return super().fetch(url, headers)

    return LocalFilesOnly(allowed_protocols=("file",))


def _empty_fontconfig() -> Path:
    """A fontconfig file without font directories (written once per process, removed by `release`)."""
    global _fontconfig_file
    if _fontconfig_file is None:
        handle, name = tempfile.mkstemp(prefix="survey-fonts-", suffix=".conf")
        with os.fdopen(handle, "w") as file:
            file.write(_EMPTY_FONTCONFIG)
        _fontconfig_file = Path(name)
    return _fontconfig_file


def _isolated_font_configuration() -> Any:
    """A WeasyPrint font configuration that knows no system font (fontconfig reads FONTCONFIG_FILE)."""
    from weasyprint.text.fonts import FontConfiguration

    with _fontconfig_lock:
        previous = os.environ.get("FONTCONFIG_FILE")
        os.environ["FONTCONFIG_FILE"] = str(_empty_fontconfig())
        try:
            return FontConfiguration()
        finally:
            if previous is None:
                del os.environ["FONTCONFIG_FILE"]
            else:
                os.environ["FONTCONFIG_FILE"] = previous


def _srgb_profile() -> Any:
    """WeasyPrint's sRGB profile for the PDF/A output intent, read once and closed (WeasyPrint's own
    `output_intent="srgb"` leaves the file open)."""
    from importlib.resources import files

    from weasyprint.css import ColorProfile

    with (files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as handle:
        return ColorProfile(handle, "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))


class _Toolkit:
    """This thread's font configuration, fetcher, parsed stylesheets and colour profile."""

    def __init__(self) -> None:
        from weasyprint import CSS

        check_fonts()
        self.colour = {OUTPUT_INTENT: _srgb_profile()}
        self.fonts = _isolated_font_configuration()
        self.fetcher = _fetcher()
        self.fonts_stylesheet = CSS(string=fonts_css(), font_config=self.fonts, url_fetcher=self.fetcher)
        self.stylesheets = {
            name: CSS(filename=str(path), font_config=self.fonts, url_fetcher=self.fetcher)
            for name, path in STYLESHEETS.items()
        }


def _toolkit() -> _Toolkit:
    toolkit: _Toolkit | None = getattr(_local, "toolkit", None)
    if toolkit is None:
        toolkit = _local.toolkit = _Toolkit()
        with _fontconfig_lock:
            _font_folders.append(toolkit.fonts)
    return toolkit


@atexit.register
def release() -> None:
    """Remove this process's temporary font files: every thread's font copies and the fontconfig file.

    Runs at interpreter exit; worker processes (which leave without running atexit) call it themselves.
    """
    global _fontconfig_file
    _local.__dict__.pop("toolkit", None)
    with _fontconfig_lock:
        while _font_folders:
            # WeasyPrint copies @font-face files into a temporary folder per font configuration and removes it
            # only when the configuration is garbage-collected, which a process ending abruptly never does.
            folder = getattr(_font_folders.pop(), "_folder", None)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    if _fontconfig_file is not None:
        _fontconfig_file.unlink(missing_ok=True)
        _fontconfig_file = None


def pdf_options(stylesheets: tuple[str, ...] = ("report",)) -> dict[str, Any]:
    """The keyword arguments `HTML.write_pdf` is called with (fonts, colours, variant, stylesheets)."""
    toolkit = _toolkit()
    return {
        "stylesheets": [toolkit.fonts_stylesheet, *(toolkit.stylesheets[name] for name in stylesheets)],
        "font_config": toolkit.fonts,
        "color_profiles": toolkit.colour,
        "output_intent": OUTPUT_INTENT,
        "pdf_variant": PDF_VARIANT,
    }


def parse_html(html: str) -> Any:
    """The document as WeasyPrint reads it (resources through the local-files-only fetcher)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(STATIC), url_fetcher=_toolkit().fetcher)


def render_pdf(html: str, *, stylesheets: tuple[str, ...] = ("report",)) -> bytes:
    """The document as PDF/A-2a bytes, in the app's fonts, with title and language from the HTML."""
    return bytes(parse_html(html).write_pdf(**pdf_options(stylesheets)))
