"""Run the benchmarks and print their tables: ``python -m benchmarks [--quick] [--json PATH]``.

Runs :mod:`benchmarks.bench_core`, then ``benchmarks.bench_windows`` (``run(n)``) and
``benchmarks.bench_concurrency`` (``run()``) when those modules exist, and prints every
row. With ``--json PATH`` it also writes the machine, the settings, every row and the goal
checks to *PATH*.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import bench_core


def machine() -> dict[str, Any]:
    """Describe where the numbers come from: CPU, core count, Python and library versions."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("rivusio", "anyio", "trio"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "source tree" if package == "rivusio" else "not installed"
    return {
        "cpu": model,
        "nproc": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        **versions,
    }


def optional_rows(name: str, n: int) -> list[dict[str, Any]] | None:
    """Rows of ``benchmarks.<name>``'s ``run``, or ``None`` when the module does not exist.

    ``bench_windows.run`` takes the item count; ``bench_concurrency.run`` takes nothing.
    """
    module_name = f"benchmarks.{name}"
    if importlib.util.find_spec(module_name) is None:
        return None
    module = importlib.import_module(module_name)
    rows: list[dict[str, Any]] = module.run(n) if name == "bench_windows" else module.run()
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    """Render rows of any shape as a Markdown table, one column per key."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(key)) for key in columns) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse *argv*, run the benchmarks, print the tables; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        help=f"items per run (default {bench_core.DEFAULT_N:,}; {bench_core.QUICK_N:,} "
        "with --quick)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs per variant (default 5; 1 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: few items, one run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    n = args.n or (bench_core.QUICK_N if args.quick else bench_core.DEFAULT_N)
    repeats = args.repeats or (1 if args.quick else 5)

    about = machine()
    print("# rivusio benchmarks")
    print()
    print(", ".join(f"{key}: {value}" for key, value in about.items()))
    print(f"n = {n:,} items per run, median of {repeats} run(s)")
    print()
    rows = bench_core.run(n, repeats)
    checks = bench_core.goals(rows)
    print("## Core runtime")
    print()
    print(bench_core.format_table(rows))
    print()
    print("## Goals")
    print()
    print(bench_core.format_goals(checks))
    results: dict[str, Any] = {
        "machine": about,
        "n": n,
        "repeats": repeats,
        "core": rows,
        "goals": checks,
    }
    for name, title in (("bench_windows", "Windows"), ("bench_concurrency", "Concurrency")):
        extra = optional_rows(name, n)
        if extra is None:
            continue
        results[name.removeprefix("bench_")] = extra
        print()
        print(f"## {title}")
        print()
        print(format_rows(extra))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print()
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
