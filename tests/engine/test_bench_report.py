"""How the benchmarks write docs/benchmarks.md (bench/sip_engine.write_section)."""

from __future__ import annotations

from bench import sip_engine


def test_a_new_run_replaces_the_figures_and_keeps_the_notes_under_them(tmp_path) -> None:
    """bench/sip_engine.write_section: the table and stamp are the run's, the notes a person
    wrote under the old stamp stay; the sections around it are untouched."""
    report = tmp_path / "benchmarks.md"
    report.write_text(
        "# Benchmarks\n\n## SIP engine\n\n### Calls\n\nold text\n\n| 1 |\n\n"
        "Measured 2026-12-01 on a machine.\n\n- a note on the figures\n- another\n\n"
        "### Floods\n\nuntouched\n\n### Faults\n\n| 1 |\n\n"
        "Measured 2026-12-01 on Python 3.11.7. Re-run on d41a497:\nthe same.\n"
    )
    sip_engine.write_section("Calls", ["new text", "", "| 2 |", "", "Measured 2026-12-03."], report)
    sip_engine.write_section("Faults", ["| 2 |", "", "Measured 2026-12-03."], report)
    sip_engine.write_section("Soak", ["first run", "", "Measured 2026-12-03."], report)
    assert report.read_text() == (
        "# Benchmarks\n\n## SIP engine\n\n### Calls\n\nnew text\n\n| 2 |\n\n"
        "Measured 2026-12-03.\n\n- a note on the figures\n- another\n\n"
        "### Floods\n\nuntouched\n\n### Faults\n\n| 2 |\n\nMeasured 2026-12-03.\n\n"
        "Re-run on d41a497:\nthe same.\n\n### Soak\n\nfirst run\n\nMeasured 2026-12-03.\n"
    )
