"""The live progress display and the summary of the ``rivusio`` command.

Two displays read the same :class:`~rivusio.monitoring.PipelineMonitor` figures:

- :class:`RichDisplay` redraws a table in place (``rich.live.Live``) when the output is a
  terminal and ``rich`` is installed (``pip install rivusio[cli]``);
- :class:`PlainDisplay` writes one line per tick otherwise (a log file, a pipe, CI), so the
  progress of a long run is still visible, and greppable.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol

import anyio

if TYPE_CHECKING:
    from typing import TextIO

    from .pipeline_monitor import PipelineMonitor

SUMMARY_COLUMNS = (
    ("stage", "stage"),
    ("items in", "items_in"),
    ("items out", "items_out"),
    ("errors", "errors"),
    ("skipped", "skipped"),
    ("dead-lettered", "dead_lettered"),
    ("blocked s", "blocked_time"),
)


class Display(Protocol):
    """What the command needs of a progress display."""

    def tick(self, metrics: dict[str, Any], elapsed: float) -> None:
        """Show the figures of a run in progress."""

    def finish(self, metrics: dict[str, Any], elapsed: float, *, ok: bool) -> None:
        """Stop the live display and show the summary of the run."""


def delivered(metrics: dict[str, Any]) -> int:
    """Items the last stage gave out (the top-level ``items_out`` sums every stage's)."""
    stages = list(metrics["stages"].values())
    return stages[-1]["items_out"] if stages else 0


def rate(metrics: dict[str, Any], elapsed: float) -> float:
    """Items taken in per second of wall-clock time."""
    return metrics["items_processed"] / elapsed if elapsed > 0 else 0.0


def headline(metrics: dict[str, Any], elapsed: float) -> str:
    """One line: time, items in and out, errors, rate."""
    return (
        f"{elapsed:.1f} s, {metrics['items_processed']} in, {delivered(metrics)} out, "
        f"{metrics['errors']} errors, {rate(metrics, elapsed):,.0f} items/s"
    )


def summary_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """The per-stage rows of the summary table, as text."""
    rows = []
    for stage, entry in metrics["stages"].items():
        rows.append(
            [stage]
            + [
                f"{entry[key]:.2f}" if isinstance(entry[key], float) else str(entry[key])
                for _, key in SUMMARY_COLUMNS[1:]
            ]
        )
    return rows


def summary_line(metrics: dict[str, Any], elapsed: float, *, ok: bool) -> str:
    """The first line of the summary."""
    verb = "done" if ok else "stopped"
    return (
        f"rivusio: {verb} in {elapsed:.2f} s: {metrics['items_processed']} items in "
        f"({rate(metrics, elapsed):,.0f} items/s), {delivered(metrics)} out, "
        f"{metrics['errors']} errors, {metrics['skipped']} skipped, "
        f"{metrics['dead_lettered']} dead-lettered"
    )


class PlainDisplay:
    """Progress as plain lines, one per tick, and a plain-text summary table.

    Args:
        out: Where to write (the command's stderr).
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def tick(self, metrics: dict[str, Any], elapsed: float) -> None:
        """Write ``rivusio: TIME, N in, N out, N errors, RATE items/s | STAGE FILL/CAP ...``."""
        fills = " | ".join(
            f"{stage} {entry['buffer_size']}/{entry['capacity']}"
            for stage, entry in metrics["stages"].items()
        )
        self.out.write(f"rivusio: {headline(metrics, elapsed)}" + (f" | {fills}" if fills else ""))
        self.out.write("\n")
        self.out.flush()

    def finish(self, metrics: dict[str, Any], elapsed: float, *, ok: bool) -> None:
        """Write the summary line and a table of the stages' counts."""
        lines = [summary_line(metrics, elapsed, ok=ok)]
        rows = summary_rows(metrics)
        if rows:
            table = [[title for title, _ in SUMMARY_COLUMNS], *rows]
            widths = [max(len(row[i]) for row in table) for i in range(len(SUMMARY_COLUMNS))]
            for row in table:
                cells = [row[0].ljust(widths[0])]
                cells += [
                    cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
                ]
                lines.append("  ".join(cells))
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


class RichDisplay:
    """A table redrawn in place on a terminal, with ``rich``.

    Args:
        console: A ``rich.console.Console`` writing to the terminal.
    """

    def __init__(self, console: Any) -> None:
        from rich.live import Live

        self.console = console
        self.live = Live(console=console, refresh_per_second=4, transient=True)
        self.live.start()

    def _table(self, metrics: dict[str, Any], *, title: str | None = None) -> Any:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        table.add_column("stage")
        for heading in ("in", "out", "errors", "skipped", "dead-lettered"):
            table.add_column(heading, justify="right")
        table.add_column("buffer", justify="right")
        table.add_column("blocked s", justify="right")
        for stage, entry in metrics["stages"].items():
            capacity = entry["capacity"]
            fill = f"{entry['buffer_size']}/{capacity}" if capacity else "-"
            table.add_row(
                stage,
                str(entry["items_in"]),
                str(entry["items_out"]),
                str(entry["errors"]),
                str(entry["skipped"]),
                str(entry["dead_lettered"]),
                fill,
                f"{entry['blocked_time']:.2f}",
            )
        return table

    def tick(self, metrics: dict[str, Any], elapsed: float) -> None:
        """Redraw the table with the latest figures."""
        self.live.update(self._table(metrics, title=f"rivusio: {headline(metrics, elapsed)}"))

    def finish(self, metrics: dict[str, Any], elapsed: float, *, ok: bool) -> None:
        """Remove the live table and print the summary table."""
        self.live.stop()
        self.console.print(summary_line(metrics, elapsed, ok=ok), highlight=False)
        self.console.print(self._table(metrics))


def make_display(out: TextIO) -> Display:
    """A :class:`RichDisplay` when *out* is a terminal and ``rich`` is installed, else plain.

    ``rich`` decides what a terminal is, so its ``FORCE_COLOR``/``TTY_COMPATIBLE``
    environment variables apply.
    """
    try:
        from rich.console import Console
    except ImportError:
        return PlainDisplay(out)
    console = Console(file=out)
    if not console.is_terminal:
        return PlainDisplay(out)
    return RichDisplay(console)


async def show_progress(
    monitor: PipelineMonitor, display: Display, *, interval: float, started: float
) -> None:
    """Tick *display* every *interval* seconds until cancelled.

    Args:
        monitor: Whose figures to show.
        display: Where to show them.
        interval: Seconds between ticks, on the event loop's clock.
        started: ``time.perf_counter()`` at the start of the run, for the elapsed time.
    """
    while True:
        await anyio.sleep(interval)
        display.tick(monitor.get_metrics(), perf_counter() - started)
