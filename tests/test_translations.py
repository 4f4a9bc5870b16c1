"""The Dutch and French catalogues: every interface text translated, in every plural form the language has."""

from __future__ import annotations

import io

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask.testing import FlaskClient

from tests.conftest import PROJECT_ROOT

CATALOGUES = PROJECT_ROOT / "survey_app" / "translations"


def _catalogue(language: str) -> Catalog:
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_interface_text_is_translated_in_every_plural_form(language: str) -> None:
    catalogue = _catalogue(language)
    untranslated = [
        message.id
        for message in catalogue
        if message.id
        and (
            message.fuzzy
            or not message.string
            or (isinstance(message.string, tuple) and len(message.string) < catalogue.num_plurals)
            or (isinstance(message.string, tuple) and not all(message.string))
        )
    ]
    assert not untranslated, f"{language}: {len(untranslated)} untranslated, first {untranslated[:5]}"


def test_french_counts_of_two_and_more_are_in_french() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue("fr"))
    compiled.seek(0)
    french = Translations(compiled)
    assert french.ngettext("%(num)d day", "%(num)d days", 1) == "%(num)d jour"
    assert french.ngettext("%(num)d day", "%(num)d days", 2) == "%(num)d jours"
    assert french.ngettext("%(num)d day", "%(num)d days", 25) == "%(num)d jours"


@pytest.mark.parametrize(
    ("language", "brand", "sign_in"),
    [("nl", "Herstelresultaten", "Aanmelden"), ("fr", "Résultats du rétablissement", "Se connecter")],
)
def test_the_brand_and_the_page_titles_are_in_the_page_language(
    client: FlaskClient, language: str, brand: str, sign_in: str
) -> None:
    page = client.get("/auth/sign-in", headers={"Accept-Language": language}).get_data(as_text=True)
    assert f'<span class="brand">{brand}</span>' in page
    assert f"<title>{sign_in} · {brand}</title>" in page
    assert "Recovery outcomes" not in page
