"""The progress displays of the ``rivusio`` command, and the demo in-process."""

from __future__ import annotations

import io
import re
import sys
from typing import TYPE_CHECKING

from rich.console import Console

from rivusio._demo import print_rich_report, run_demo
from rivusio.cli import main
from rivusio.monitoring._progress import PlainDisplay, RichDisplay, make_display

if TYPE_CHECKING:
    import pytest

METRICS = {
    "items_processed": 10,
    "items_out": 18,
    "errors": 1,
    "skipped": 1,
    "dead_lettered": 0,
    "stages": {
        "parse": {
            "items_in": 10, "items_out": 9, "errors": 1, "skipped": 1, "dead_lettered": 0,
            "buffer_size": 3, "capacity": 8, "blocked_time": 0.25,
        },
        "store": {
            "items_in": 9, "items_out": 9, "errors": 0, "skipped": 0, "dead_lettered": 0,
            "buffer_size": 0, "capacity": 0, "blocked_time": 0.0,
        },
    },
}  # fmt: skip


def test_plain_progress_line() -> None:
    """A tick is one line: time, in, out (of the last stage), errors, rate and buffers."""
    out = io.StringIO()
    PlainDisplay(out).tick(METRICS, 2.0)
    assert out.getvalue() == (
        "rivusio: 2.0 s, 10 in, 9 out, 1 errors, 5 items/s | parse 3/8 | store 0/0\n"
    )


def test_plain_progress_line_before_any_stage() -> None:
    """With no stage yet there is no buffer part, and no rate before any time passed."""
    out = io.StringIO()
    empty = {**METRICS, "items_processed": 0, "stages": {}}
    PlainDisplay(out).tick(empty, 0.0)
    assert out.getvalue() == "rivusio: 0.0 s, 0 in, 0 out, 1 errors, 0 items/s\n"


def test_plain_summary() -> None:
    """The summary is a line and a table of the stages."""
    out = io.StringIO()
    PlainDisplay(out).finish(METRICS, 2.0, ok=False)
    assert out.getvalue().splitlines() == [
        (
            "rivusio: stopped in 2.00 s: 10 items in (5 items/s), 9 out, 1 errors, 1 skipped, "
            "0 dead-lettered"
        ),
        "stage  items in  items out  errors  skipped  dead-lettered  blocked s",
        "parse        10          9       1        1              0       0.25",
        "store         9          9       0        0              0       0.00",
    ]


def test_plain_summary_without_stages() -> None:
    """A run without stages has a summary line only."""
    out = io.StringIO()
    PlainDisplay(out).finish({**METRICS, "stages": {}}, 1.0, ok=True)
    assert out.getvalue() == (
        "rivusio: done in 1.00 s: 10 items in (10 items/s), 0 out, 1 errors, 1 skipped, "
        "0 dead-lettered\n"
    )


def test_rich_display_draws_a_table_and_leaves_the_summary() -> None:
    """On a terminal the live table is replaced by the summary table at the end."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    display = RichDisplay(console)
    display.tick(METRICS, 1.0)
    display.finish(METRICS, 2.0, ok=True)
    text = out.getvalue()
    assert "rivusio: done in 2.00 s: 10 items in (5 items/s)" in text
    assert re.search(r"parse .*10 .*9 .*1 .*1 .*0 .*3/8 .*0\.25", text)
    assert re.search(r"store .*9 .*9 .*0 .*0 .*0 .*- .*0\.00", text)


def test_make_display_picks_rich_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich's FORCE_COLOR makes any output a terminal; otherwise the display is plain."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert isinstance(make_display(io.StringIO()), PlainDisplay)
    monkeypatch.setenv("FORCE_COLOR", "1")
    display = make_display(io.StringIO())
    assert isinstance(display, RichDisplay)
    display.finish(METRICS, 1.0, ok=True)


def test_make_display_is_plain_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without rich the display is plain, even on a terminal."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setitem(sys.modules, "rich.console", None)
    assert isinstance(make_display(io.StringIO()), PlainDisplay)


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    """main(['demo']) prints the plain report when stdout is not a terminal."""
    assert main(["demo", "--count", "1000", "--batch-size", "100"]) == 0
    out = capsys.readouterr().out
    assert "pipeline: drop_faulty >> enrich >> summarize (batches of 100)" in out
    assert "summarize          969         10" in out


def test_demo_in_process_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the demo draws rich tables."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(["demo", "--count", "1000"]) == 0
    out = capsys.readouterr().out
    assert "┏" in out
    assert "heat alerts" in out


def test_demo_without_percentiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ddsketch the demo's footer gives the average only."""
    from rivusio.runtime import _stats

    monkeypatch.setattr(_stats, "sketch_mapping", lambda: None)
    report = run_demo(count=200)
    out = io.StringIO()
    print_rich_report(report, seed=7, batch_size=500, console=Console(file=out, width=100))
    footer = out.getvalue().splitlines()[-2]
    assert re.fullmatch(r"processing time per item and stage: average \d+\.\d µs", footer)


def test_demo_of_no_readings_has_no_timing_line() -> None:
    """A demo run too small to time anything skips the processing-time line."""
    report = run_demo(count=1)
    report.metrics["processing_time"]["count"] = 0
    out = io.StringIO()
    print_rich_report(report, seed=7, batch_size=500, console=Console(file=out, width=100))
    assert out.getvalue().splitlines()[-1].startswith("done in ")
