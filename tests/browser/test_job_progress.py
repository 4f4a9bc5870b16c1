"""A background job's page follows it by itself: the progress bar, the message, then the download link."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.harness import TABLET, Live


def test_a_report_batch_page_follows_the_batch_until_its_zip_can_be_downloaded(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    batch = live.start_report_batch(world, total=4)
    page = open_page(TABLET)
    page.context.add_cookies([live.staff_cookie(world)])
    page.goto(f"/reports/batches/{batch}")
    expect(page.locator("#batch-message")).to_contain_text("Making the reports: 0 of 4")
    expect(page.get_by_role("link", name="Refresh")).to_be_hidden()  # the page follows by itself
    live.advance_report_batch(batch, 2)
    expect(page.locator("#batch-message")).to_contain_text("Making the reports: 2 of 4")
    expect(page.locator("#batch-bar")).to_have_attribute("value", "50")
    live.advance_report_batch(batch, 4, finished=True)
    expect(page.locator("#batch-message")).to_have_text("Done. Reports made: 4.")
    expect(page.get_by_role("link", name="Download the ZIP")).to_have_attribute(
        "href", f"/reports/batches/{batch}/download"
    )


def test_an_export_page_follows_the_export_until_it_can_be_downloaded(
    open_page: Callable[..., Page], live: Live
) -> None:
    researcher, run = live.start_export(live.admin_world(), rows_total=200)
    page = open_page(TABLET)
    page.context.add_cookies([live.cookie_for(researcher)])
    page.goto(f"/research/runs/{run}")
    expect(page.locator("#export-message")).to_contain_text("Exporting: 0 of 200 rows")
    expect(page.get_by_role("link", name="Refresh")).to_be_hidden()
    live.advance_export(run, 50)
    expect(page.locator("#export-message")).to_contain_text("Exporting: 50 of 200 rows")
    expect(page.locator("#export-bar")).to_have_attribute("value", "25")
    live.advance_export(run, 200, finished=True)
    expect(page.locator("#export-message")).to_have_text("Done.")
    expect(
        page.get_by_role("link", name="Download (zip: data, codebook in HTML and JSON)")
    ).to_have_attribute("href", f"/research/runs/{run}/download")
