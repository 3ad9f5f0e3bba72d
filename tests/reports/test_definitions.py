"""Each metric is defined once: README carries the same sentence as the help text the pages show."""

from __future__ import annotations

from pathlib import Path

from apps.reports.metrics import METRICS, summarize

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_carries_every_definition_word_for_word():
    text = " ".join(README.read_text(encoding="utf-8").split())
    missing = [key for key, metric in METRICS.items() if f"**{metric.label}** (`{key}`): {metric.help}" not in text]
    assert missing == []


def test_statistics_as_defined():
    assert summarize([]) == {"count": 0, "median": None, "p90": None, "mean": None}
    assert summarize([7]) == {"count": 1, "median": 7, "p90": 7, "mean": 7}
    # Ten values: median of the 5th and 6th (5, 6 -> 5, rounded down); p90 the 9th; mean 55/10 -> 5.
    assert summarize(range(1, 11)) == {"count": 10, "median": 5, "p90": 9, "mean": 5}
    assert summarize([1, 2, 3, 100]) == {"count": 4, "median": 2, "p90": 100, "mean": 26}
