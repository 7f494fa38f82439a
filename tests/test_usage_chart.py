"""The usage chart answers its questions on honest scales (hubctl usage --png)."""
import pytest

pytest.importorskip("matplotlib")

from hubctl.views import usage_figure  # noqa: E402

PANELS = [
    {"title": "acme-retail (ACTIVE)", "days": {"2026-12-02": "0.16"}, "limit": "5000", "yellow": 0.5, "orange": 0.8, "level": "GREEN"},
    {"title": "oslo-media (ACTIVE)", "days": {}, "limit": "100", "yellow": 0.5, "orange": 0.8, "level": "GREEN"},
]


def test_every_chart_has_one_scale_and_the_limit_is_drawn_where_month_to_date_is():
    figure = usage_figure("2026-12", PANELS)
    boxes = [tuple(round(v, 4) for v in axes.get_position().bounds) for axes in figure.axes]
    assert len(boxes) == len(set(boxes)) == 2 * len(PANELS)  # no twin axes: one y scale per chart
    progress, daily = figure.axes[0], figure.axes[1]
    limit_lines = [line for line in progress.get_lines() if line.get_label().startswith("limit")]
    assert limit_lines and progress.get_ylim()[1] >= 5000  # the limit beside the month to date
    assert not [line for line in daily.get_lines()]  # the 0.16 USD day is on its own scale, no limit line
    assert daily.get_ylim()[1] < 1


def test_a_tenant_with_nothing_metered_says_so():
    figure = usage_figure("2026-12", PANELS)
    texts = [text.get_text() for axes in figure.axes[2:] for text in axes.texts]
    assert texts == ["nothing metered this month"] * 2
