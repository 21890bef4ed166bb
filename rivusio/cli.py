"""The ``rivusio`` command (also ``python -m rivusio``).

Commands:

- ``rivusio demo``: run a small pipeline over generated sensor readings and print what it
  did.

Every command exits with status 0 on success; on failure it prints one line starting with
``rivusio: error:`` to stderr and exits with a non-zero status.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("main",)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rivusio", description="Run rivusio pipelines from the command line."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a pipeline over generated sensor readings and show what it did",
        description="Generate sensor readings from a seed, drop faulty ones, enrich, batch "
        "and aggregate them per site, and print counts, aggregates and timing.",
    )
    demo.add_argument("--count", type=_positive_int, default=10_000, help="readings (10000)")
    demo.add_argument("--seed", type=int, default=7, help="generator seed (7)")
    demo.add_argument(
        "--batch-size", type=_positive_int, default=500, help="readings per batch (500)"
    )
    demo.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop (asyncio)"
    )
    return parser


def _demo(args: argparse.Namespace) -> int:
    from ._demo import print_report, run_demo

    report = run_demo(
        count=args.count, seed=args.seed, batch_size=args.batch_size, backend=args.backend
    )
    print_report(report, seed=args.seed, batch_size=args.batch_size, out=sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rivusio`` command with *argv* (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 1 when the command failed, 2 for bad arguments.
    """
    args = _parser().parse_args(argv)
    try:
        return _demo(args)
    except Exception as exc:
        print(f"rivusio: error: {exc}", file=sys.stderr)
        return 1
