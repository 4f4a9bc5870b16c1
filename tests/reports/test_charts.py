"""SVG charts of scores over time: valid SVG, readable without colour, gaps, breaks, bands and words."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from survey_app.reports.charts import (
    ChartBand,
    ChartLabels,
    ChartPoint,
    ScoreChart,
    describe,
    nice_ticks,
    score_chart_svg,
)
from survey_app.reports.wording import ReportWords

SVG = "{http://www.w3.org/2000/svg}"
DAY = dt.date(2026, 1, 5)


def point(days: int, value: float | None, **fields: object) -> ChartPoint:
    when = DAY + dt.timedelta(days=days)
    return ChartPoint(
        when=when, label=when.isoformat(), value=value, value_text=f"{value:g}" if value else "", **fields
    )  # type: ignore[arg-type]


def chart(*points: ChartPoint, **fields: object) -> ScoreChart:
    return ScoreChart(
        title="WHO-5: Well-being (%)",
        y_range=(0, 100),
        points=points,
        bands=(ChartBand(0, 51, "low well-being"), ChartBand(52, 100, "adequate")),
        **fields,  # type: ignore[arg-type]
    )


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_the_svg_is_well_formed_and_has_a_title_and_a_description_it_points_to() -> None:
    root = parse(
        score_chart_svg(chart(point(0, 32, wave="Intake"), point(91, 64, wave="3 months")), chart_id="c1")
    )
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "WHO-5: Well-being (%)"
    assert desc.text is not None and "32" in desc.text and "64" in desc.text


def test_no_style_attributes_only_presentation_attributes() -> None:
    svg = score_chart_svg(chart(point(0, 32, wave="Intake"), point(40, None, note="missed")), chart_id="c")
    assert "style=" not in svg
    for element in parse(svg).iter():
        assert "style" not in element.attrib


def test_every_point_has_a_marker_and_the_waves_a_value_label() -> None:
    svg = score_chart_svg(
        chart(point(0, 32, wave="Intake"), point(30, 40), point(91, 64, wave="3 months")), chart_id="c"
    )
    root = parse(svg)
    markers = [circle for circle in root.iter(f"{SVG}circle") if circle.get("class") == "chart-point"]
    assert len(markers) == 3
    labels = texts(root)
    assert "32" in labels and "64" in labels and "Intake" in labels and "3 months" in labels


def test_a_missed_wave_is_a_cross_with_its_word_and_a_gap_in_the_line() -> None:
    svg = score_chart_svg(
        chart(
            point(0, 32, wave="Intake"),
            point(91, None, wave="3 months", note="missed"),
            point(182, 64, wave="6 months"),
        ),
        chart_id="c",
    )
    root = parse(svg)
    assert any(path.get("class") == "chart-missed" for path in root.iter(f"{SVG}path"))
    assert "missed" in texts(root)
    lines = [line for line in root.iter(f"{SVG}polyline") if line.get("class") == "chart-line"]
    assert lines == []  # the two scores are not joined across the missed wave


def test_a_version_break_draws_a_rule_and_never_joins_the_scores() -> None:
    labels = ChartLabels(version_break="version changed: not comparable")
    svg = score_chart_svg(
        chart(point(0, 30), point(30, 35), point(60, 50, breaks_before=True), point(90, 55), labels=labels),
        chart_id="c",
    )
    root = parse(svg)
    assert [line.get("class") for line in root.iter(f"{SVG}line")].count("chart-break") == 1
    assert "version changed: not comparable" in texts(root)
    joined = [line.get("points", "").count(",") for line in root.iter(f"{SVG}polyline")]
    assert joined == [2, 2]  # two runs of two points each
    assert "version changed: not comparable" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


def test_bands_are_shaded_and_named_and_the_cut_off_is_drawn() -> None:
    svg = score_chart_svg(chart(point(0, 32), cutoff=52, cutoff_text="cut-off 52"), chart_id="c")
    root = parse(svg)
    bands = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "chart-band"]
    assert len(bands) == 2 and bands[0].get("fill") != bands[1].get("fill")
    assert {"low well-being", "adequate", "cut-off 52"} <= set(texts(root))
    assert any(line.get("class") == "chart-cutoff" for line in root.iter(f"{SVG}line"))


def test_estimated_scores_get_a_hollow_marker_and_a_legend_entry() -> None:
    labels = ChartLabels(estimated="estimated (items missing)")
    svg = score_chart_svg(chart(point(0, 32, estimated=True), labels=labels), chart_id="c")
    root = parse(svg)
    marker = next(circle for circle in root.iter(f"{SVG}circle") if circle.get("class") == "chart-point")
    assert marker.get("fill") == "#ffffff"
    assert "estimated (items missing)" in texts(root)


def test_text_is_escaped_and_ids_are_safe() -> None:
    hostile = ScoreChart(title='<script>alert(1)</script> & "x"', y_range=(0, 10), points=(point(0, 5),))
    svg = score_chart_svg(hostile, chart_id='a"><script>')
    assert "<script>" not in svg
    assert parse(svg).find(f"{SVG}title").text == '<script>alert(1)</script> & "x"'  # type: ignore[union-attr]


def test_an_empty_chart_says_there_are_no_scores() -> None:
    empty = ScoreChart(
        title="PHQ-9", y_range=(0, 27), points=(), labels=ChartLabels(no_scores="No scores yet.")
    )
    root = parse(score_chart_svg(empty, chart_id="c"))
    assert "No scores yet." in texts(root) and describe(empty) == "No scores yet."


def test_a_single_point_is_placed_inside_the_plot() -> None:
    root = parse(score_chart_svg(chart(point(0, 50)), chart_id="c"))
    marker = next(circle for circle in root.iter(f"{SVG}circle") if circle.get("class") == "chart-point")
    assert 40 < float(marker.get("cx", 0)) < 560 - 118


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    assert nice_ticks(0, 27) == [0, 10, 20]
    assert nice_ticks(1, 7) == [2, 4, 6]
    assert nice_ticks(10, 50) == [10, 20, 30, 40, 50]
    assert nice_ticks(5, 5) == [5]


@pytest.mark.parametrize(
    ("language", "ticks"),
    [("en", ["0", "0.25", "0.5"]), ("nl", ["0", "0,25", "0,5"]), ("fr", ["0", "0,25", "0,5"])],
)
def test_axis_ticks_are_written_as_the_chart_language_writes_numbers(language: str, ticks: list[str]) -> None:
    words = ReportWords(language, dt.UTC)
    shown = ScoreChart(title="Mastery", y_range=(0, 1), points=(point(0, 0.5),), number=words.number)
    assert texts(parse(score_chart_svg(shown, chart_id="c")))[1:4] == ticks


def _extent(element: ET.Element) -> tuple[float, float]:
    """Left and right edge of a text element, from its anchor, font size and length (roughly)."""
    x, size = float(element.get("x") or 0), float(element.get("font-size") or 11)
    width = len(element.text or "") * size * (0.58 if element.get("font-weight") else 0.56)
    anchor = element.get("text-anchor")
    left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
    return left, left + width


def test_long_titles_and_wave_labels_stay_inside_a_half_width_chart() -> None:
    long_title = "Algemene gezondheid (PROMIS-10): T-score lichamelijke gezondheid"
    svg = score_chart_svg(
        ScoreChart(
            title=long_title,
            y_range=(0, 100),
            points=(point(0, 32, wave="Intake"), point(182, 64, wave="6 months (end of programme)")),
        ),
        chart_id="half",
        width=400,
        height=180,
    )
    root = parse(svg)
    for element in root.iter(f"{SVG}text"):
        left, right = _extent(element)
        assert left >= 0 and right <= 400, (element.text, left, right)
    assert " ".join(texts(root)).startswith(long_title)
