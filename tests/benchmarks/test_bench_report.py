"""Pure helpers of the peer benchmarks (benchmarks/report.py): table and number formatting."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.report import md_table, mean_std, ratio  # noqa: E402


def test_md_table_formats_cells():
    text = md_table(["a", "b"], [[1, 0.12345], ["x", None], ["y", 12345.6]])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1 | 0.123 |", "| x | - |", "| y | 12346 |"]


def test_ratio_and_missing_values():
    assert ratio(10.0, 4.0) == "2.50x"
    assert ratio(1000.0, 2.0) == "500x"
    assert ratio(None, 2.0) == "-"
    assert ratio(1.0, 0.0) == "-"


def test_mean_std_population():
    assert mean_std([0.5, 0.7]) == "0.600 ± 0.100"
    assert mean_std([0.8]) == "0.800 ± 0.000"
    assert mean_std([]) == "-"


def test_recorded_sections_picks_sections_by_heading(tmp_path):
    from benchmarks.run import recorded_sections

    md = tmp_path / "RECORDED.md"
    md.write_text("# Recorded\n\nintro\n\n## Video: MNIST (cmd)\n\n| a |\n|---|\n| 1 |\n\n## Weather (cmd)\n\nrmse 0.77\n")
    assert recorded_sections(("Weather",), md) == "### Weather (cmd)\n\nrmse 0.77"
    both = recorded_sections(("Video", "Weather"), md)
    assert both.startswith("### Video: MNIST (cmd)\n\n| a |") and both.endswith("rmse 0.77")
    assert recorded_sections((), md) == "" and recorded_sections(("fMRI",), md) == ""
