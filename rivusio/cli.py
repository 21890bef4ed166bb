"""The ``rivusio`` command (also ``python -m rivusio``).

Commands:

- ``rivusio run MODULE:ATTR``: run a pipe or pipeline defined in your module over JSON
  Lines, with live progress on stderr and a summary at the end;
- ``rivusio demo``: run a small pipeline over generated sensor readings and print what it
  did;
- ``rivusio list-pipes`` and ``rivusio info NAME``: the registered plugins.

Every command exits with status 0 on success. On failure it prints one line starting with
``rivusio: error:`` to stderr and exits with status 1; bad arguments exit with 2, and
Ctrl-C with 130. See ``docs/reference/cli.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import functools
import importlib
import importlib.util
import json
import logging
import os
import stat
import sys
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs

from .aio import AsyncStream
from .core.exceptions import StreamError
from .core.pipes import BasePipe
from .monitoring import PipelineMonitor
from .monitoring._progress import RichDisplay, make_display, show_progress

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from typing import TextIO

    from .core.records import DeadLetter
    from .monitoring._progress import Display

__all__ = ("main",)

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
INPUT_STAGE = "input"
"""The stage name of input lines in log records and dead letters."""


class CommandError(Exception):
    """A failure to report to the user as one line, without a traceback."""


class InputError(Exception):
    """A line of the input that is not valid JSON."""


# -- arguments -----------------------------------------------------------------------------


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rivusio", description="Run rivusio pipelines from the command line."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a pipe from your module over JSON Lines",
        description="Run the pipe or pipeline MODULE:ATTR over JSON Lines records: one JSON "
        "value per input line in, one per output line out. Progress goes to stderr.",
    )
    run.add_argument(
        "target",
        metavar="MODULE:ATTR",
        help="the pipe: an instance or a class (created with no arguments); MODULE is a "
        "module name importable from the current directory, or a path to a .py file",
    )
    run.add_argument("--input", "-i", default="-", help="JSON Lines file, or - for stdin (-)")
    run.add_argument("--output", "-o", default="-", help="output file, or - for stdout (-)")
    group = run.add_mutually_exclusive_group()
    group.add_argument(
        "--batch-size", type=_count, help="hand the pipe lists of up to this many records"
    )
    group.add_argument(
        "--window",
        type=_seconds,
        metavar="SECONDS",
        help="hand the pipe lists of the records of each time window of this length",
    )
    run.add_argument(
        "--concurrency",
        type=_count,
        default=1,
        help="process up to this many records at once, output in input order (1)",
    )
    run.add_argument(
        "--on-error",
        nargs="+",
        metavar=("POLICY", "FILE"),
        default=["raise"],
        help="what to do with a record that fails, or an input line that is not JSON: "
        "'raise' (stop, the default), 'skip' (drop and count it), or 'dead-letter FILE' "
        "(write it to FILE as JSON Lines)",
    )
    run.add_argument(
        "--metrics-port",
        type=_port,
        help="serve Prometheus metrics on this port while running (needs rivusio[prometheus])",
    )
    run.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address for --metrics-port (127.0.0.1: this machine only)",
    )
    run.add_argument(
        "--progress-interval",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="seconds between progress updates (1.0)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress and no summary")
    run.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="show rivusio's log records from this level on stderr (default: none)",
    )
    run.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop (asyncio)"
    )
    run.set_defaults(handler=_run)

    demo = commands.add_parser(
        "demo",
        help="run a pipeline over generated sensor readings and show what it did",
        description="Generate sensor readings from a seed, drop faulty ones, enrich, batch "
        "and aggregate them per site, and print counts, aggregates and timing.",
    )
    demo.add_argument("--count", type=_count, default=10_000, help="readings (10000)")
    demo.add_argument("--seed", type=int, default=7, help="generator seed (7)")
    demo.add_argument("--batch-size", type=_count, default=500, help="readings per batch (500)")
    demo.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop (asyncio)"
    )
    demo.set_defaults(handler=_demo)

    for name, handler, text in (
        ("list-pipes", _list_pipes, "list the registered plugins"),
        ("info", _info, "describe a registered plugin"),
    ):
        command = commands.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. Plugins register when their module is "
            "imported: name it with --import, or install it with an entry point in the "
            "'rivusio.plugins' group.",
        )
        if name == "info":
            command.add_argument("name", help="the plugin's registered name")
        command.add_argument(
            "--import",
            dest="imports",
            action="append",
            default=[],
            metavar="MODULE",
            help="import this module first (repeatable)",
        )
        command.add_argument("--json", action="store_true", help="print JSON")
        command.set_defaults(handler=handler)
    return parser


def _policy(args: argparse.Namespace) -> tuple[str, Path | None]:
    """The ``--on-error`` policy, and the dead-letter file for ``dead-letter``."""
    policy, *rest = args.on_error
    if policy in ("raise", "skip") and not rest:
        return policy, None
    if policy == "dead-letter" and len(rest) == 1:
        return "dead_letter", Path(rest[0])
    raise CommandError(
        f"--on-error: expected 'raise', 'skip' or 'dead-letter FILE' (got "
        f"{' '.join(args.on_error)!r})"
    )


# -- loading the user's pipe ----------------------------------------------------------------


def _import(module_name: str, target: str) -> Any:
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise CommandError(f"pipe {target!r}: no such file {module_name!r}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    # Like `python -m`, look in the current directory first.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise CommandError(
                f"pipe {target!r}: no module named {exc.name!r} (run rivusio from the "
                f"directory that holds it, or give a path to the .py file)"
            ) from None
        raise


def load_pipe(target: str) -> BasePipe[Any, Any]:
    """Find the pipe named by ``MODULE:ATTR``; a pipe class is created with no arguments.

    Raises:
        CommandError: The module, the attribute or a pipe is not there.
    """
    module_name, colon, attribute = target.partition(":")
    if not (colon and module_name and attribute):
        raise CommandError(
            f"pipe: expected MODULE:ATTR, for example 'jobs.orders:pipeline' (got {target!r})"
        )
    found = _import(module_name, target)
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise CommandError(
                f"pipe {target!r}: {module_name!r} has no attribute {attribute!r}"
            ) from None
    if isinstance(found, type) and issubclass(found, BasePipe):
        try:
            found = found()
        except TypeError as exc:
            raise CommandError(
                f"pipe {target!r}: {found.__name__}() needs arguments ({exc}); create the "
                f"pipe in your module and name the instance"
            ) from None
    if not isinstance(found, BasePipe):
        raise CommandError(
            f"pipe {target!r}: expected a pipe or a pipe class, got {type(found).__name__}"
        )
    return found


# -- JSON Lines in and out -------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """Turn what ``json`` cannot write into what it can: attrs and dataclass instances,
    dates and times, sets.

    Raises:
        TypeError: Anything else.
    """
    if attrs.has(type(value)):
        return attrs.asdict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(
        f"a {type(value).__name__} is not JSON-serializable; return dicts, lists, strings, "
        f"numbers, booleans, None, or attrs or dataclass instances"
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=to_json)


def _dumps_anything(value: Any) -> Any:
    try:
        return json.loads(_dumps(value))
    except (TypeError, ValueError):
        return repr(value)


class DeadLetters:
    """Writes failed records and bad input lines to a JSON Lines file."""

    def __init__(self, file: TextIO) -> None:
        self.file = file

    def __call__(self, letter: DeadLetter) -> None:
        """Write one failed record: ``{"stage", "error", "item"}``."""
        self._write(
            {
                "stage": letter.stage,
                "error": f"{type(letter.error).__name__}: {letter.error}",
                "item": _dumps_anything(letter.item),
            }
        )

    def bad_line(self, number: int, text: str, error: str) -> None:
        """Write one input line that is not JSON: ``{"stage", "error", "line", "text"}``."""
        self._write({"stage": INPUT_STAGE, "error": error, "line": number, "text": text})

    def _write(self, record: dict[str, Any]) -> None:
        self.file.write(_dumps(record) + "\n")
        self.file.flush()


def _is_regular_file(file: TextIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _read_lines(file: TextIO, count: int) -> list[str]:
    lines = []
    for _ in range(count):
        line = file.readline()
        if not line:
            break
        lines.append(line)
    return lines


@attrs.define
class Input:
    """JSON Lines from a file, read in a worker thread, with line numbers for errors.

    Attributes:
        file: The open input.
        policy: ``"raise"``, ``"skip"`` or ``"dead_letter"`` for lines that are not JSON.
        dead_letters: Where ``"dead_letter"`` writes them.
        bad_lines: How many lines were skipped or dead-lettered.
    """

    file: TextIO
    policy: str
    dead_letters: DeadLetters | None = None
    bad_lines: int = 0

    async def records(self) -> AsyncIterator[Any]:
        """Yield the JSON value of every non-blank line.

        Raises:
            InputError: A line is not JSON and the policy is ``"raise"``.
        """
        # A regular file is read a thousand lines per trip to the worker thread; a pipe or a
        # terminal a line at a time, so a record is processed as soon as its line arrives.
        # A read that waits for a line can be abandoned, so Ctrl-C never hangs on stdin.
        per_read = 1000 if _is_regular_file(self.file) else 1
        number = 0
        while lines := await anyio.to_thread.run_sync(
            _read_lines, self.file, per_read, abandon_on_cancel=True
        ):
            for line in lines:
                number += 1
                text = line.rstrip("\r\n")
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    self._bad_line(number, text, f"not valid JSON: {exc.msg} (column {exc.colno})")
                    continue
                yield record

    def _bad_line(self, number: int, text: str, error: str) -> None:
        if self.policy == "raise":
            raise InputError(f"input line {number}: {error}")
        self.bad_lines += 1
        logging.getLogger("rivusio").warning(
            "input line %d: %s; %s",
            number,
            error,
            "skipped" if self.policy == "skip" else "dead-lettered",
            extra={"stage": INPUT_STAGE},
        )
        if self.dead_letters is not None:
            self.dead_letters.bad_line(number, text, error)


# -- rivusio run ---------------------------------------------------------------------------


def _stream(
    args: argparse.Namespace,
    source: Input,
    pipe: BasePipe[Any, Any],
    policy: str,
    dead_letters: DeadLetters | None,
    monitor: PipelineMonitor,
) -> AsyncStream[Any]:
    from datetime import timedelta

    from .streams import BatchStreamPipe, WindowedStreamPipe

    stream: AsyncStream[Any] = AsyncStream(source.records())
    if args.batch_size is not None:
        stream = stream.through(BatchStreamPipe(args.batch_size, name="batch"))
    elif args.window is not None:
        window: WindowedStreamPipe[Any, Any] = WindowedStreamPipe(
            timedelta(seconds=args.window), name="window"
        )
        stream = stream.through(window)
    stream = stream.through(
        pipe,
        on_error=policy,  # type: ignore[arg-type]
        dead_letter=dead_letters,
        concurrency=args.concurrency,
    )
    stream.set_monitor(monitor)
    return stream


async def _run_stream(
    stream: AsyncStream[Any],
    output: TextIO,
    monitor: PipelineMonitor,
    display: Display | None,
    interval: float,
    started: float,
) -> None:
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:
        if display is not None:
            tg.start_soon(
                functools.partial(
                    show_progress, monitor, display, interval=interval, started=started
                )
            )
        # The failure is raised after the task group, so that it comes out as itself and
        # not inside an exception group.
        try:
            await _write(stream, output)
        except Exception as exc:
            failure = exc
        finally:
            tg.cancel_scope.cancel()
    if failure is not None:
        raise failure


async def _write(stream: AsyncStream[Any], output: TextIO) -> None:
    async with stream as results:
        while (chunk := await results.next_chunk()) is not None:
            try:
                lines = "".join(_dumps(item) + "\n" for item in chunk)
            except (TypeError, ValueError) as exc:
                raise CommandError(f"output: {exc}") from None
            output.write(lines)
            output.flush()


def _logging(level: str | None, display: Display | None) -> None:
    if level is None:
        return
    logger = logging.getLogger("rivusio")
    logger.setLevel(level.upper())
    handler: logging.Handler
    if isinstance(display, RichDisplay):
        from rich.logging import RichHandler

        handler = RichHandler(console=display.console, show_path=False)
        handler.setFormatter(logging.Formatter("[%(stage)s] %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("rivusio %(levelname)s [%(stage)s] %(message)s"))
    logger.addHandler(handler)


def _run(args: argparse.Namespace) -> int:
    policy, dead_letter_path = _policy(args)
    pipe = load_pipe(args.target)
    monitor = PipelineMonitor(name=pipe.name)
    with contextlib.ExitStack() as stack:
        try:
            in_file = (
                sys.stdin
                if args.input == "-"
                else stack.enter_context(open(args.input, encoding="utf-8"))
            )
            out_file = (
                sys.stdout
                if args.output == "-"
                else stack.enter_context(open(args.output, "w", encoding="utf-8"))
            )
            dead_letters = None
            if dead_letter_path is not None:
                dead_letters = DeadLetters(
                    stack.enter_context(dead_letter_path.open("w", encoding="utf-8"))
                )
        except OSError as exc:
            raise CommandError(f"{exc.filename}: {exc.strerror}") from None
        if args.metrics_port is not None:
            try:
                from .monitoring.prometheus import serve
            except ImportError as exc:
                raise CommandError(f"--metrics-port: {exc}") from None
            server = stack.enter_context(
                serve(monitor, port=args.metrics_port, host=args.metrics_host)
            )
            print(f"rivusio: serving metrics at {server.url}", file=sys.stderr, flush=True)
        display = None if args.no_progress else make_display(sys.stderr)
        _logging(args.log_level, display)
        source = Input(in_file, policy, dead_letters)
        stream = _stream(args, source, pipe, policy, dead_letters, monitor)
        started = perf_counter()
        ok = False
        try:
            anyio.run(
                _run_stream,
                stream,
                out_file,
                monitor,
                display,
                args.progress_interval,
                started,
                backend=args.backend,
            )
            ok = True
        except StreamError as exc:
            if isinstance(exc.__cause__, InputError):
                raise CommandError(str(exc.__cause__)) from None
            raise CommandError(str(exc)) from None
        finally:
            if display is not None:
                display.finish(monitor.get_metrics(), perf_counter() - started, ok=ok)
        if source.bad_lines:
            action = "skipped" if policy == "skip" else f"dead-lettered to {dead_letter_path}"
            count = source.bad_lines
            was = "was" if count == 1 else "were"
            noun = "input line" if count == 1 else "input lines"
            print(f"rivusio: {count} {noun} {was} not JSON and {was} {action}", file=sys.stderr)
    return 0


# -- rivusio demo ----------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from ._demo import print_report, print_rich_report, run_demo

    report = run_demo(
        count=args.count, seed=args.seed, batch_size=args.batch_size, backend=args.backend
    )
    try:
        from rich.console import Console
    except ImportError:
        console = None
    else:
        console = Console(file=sys.stdout)
    if console is not None and console.is_terminal:
        print_rich_report(report, seed=args.seed, batch_size=args.batch_size, console=console)
    else:
        print_report(report, seed=args.seed, batch_size=args.batch_size, out=sys.stdout)
    return 0


# -- rivusio list-pipes / info ---------------------------------------------------------------


def _load_plugins(imports: Sequence[str]) -> Any:
    from importlib.metadata import entry_points

    from .plugins import registry

    for entry_point in entry_points(group="rivusio.plugins"):
        try:
            entry_point.load()
        except Exception as exc:
            raise CommandError(
                f"plugin entry point {entry_point.name!r} ({entry_point.value}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
    for name in imports:
        _import(name, name)
    return registry


def _list_pipes(args: argparse.Namespace) -> int:
    plugins = _load_plugins(args.imports).list_plugins()
    if args.json:
        print(json.dumps([info.to_dict() for info in plugins], indent=2))
        return 0
    if not plugins:
        print("no plugins registered (import the module that registers them with --import)")
        return 0
    rows = [["name", "kind", "class", "summary"]]
    rows += [[i.name, i.kind.label, i.qualified_name, i.summary] for i in plugins]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]).rstrip())
    return 0


def _fields(cls: type) -> list[str]:
    # Pipes are attrs classes: list the fields a plugin adds to those of every pipe.
    own = {field.name for field in attrs.fields(BasePipe)}
    lines = []
    for field in attrs.fields(cls):
        if field.name in own or not field.init:
            continue
        kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
        default = "" if field.default is attrs.NOTHING else f" = {field.default!r}"
        lines.append(f"{field.name}: {kind}{default}")
    return lines


def _info(args: argparse.Namespace) -> int:
    registry = _load_plugins(args.imports)
    try:
        found = registry.find_plugins(args.name)
    except KeyError as exc:
        raise CommandError(exc.args[0]) from None
    if args.json:
        print(json.dumps([{**i.to_dict(), "fields": _fields(i.cls)} for i in found], indent=2))
        return 0
    for index, info in enumerate(found):
        if index:
            print()
        print(f"name: {info.name}")
        print(f"kind: {info.kind.label}")
        print(f"class: {info.qualified_name}")
        for line in _fields(info.cls):
            print(f"field: {line}")
        doc = (info.cls.__dict__.get("__doc__") or "").strip()
        if doc:
            print()
            print(doc)
    return 0


# -- entry point -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rivusio`` command with *argv* (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 1 when the command failed, 2 for bad arguments
        (argparse exits by itself for those), 130 when interrupted.
    """
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("rivusio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CommandError as exc:
        message = str(exc)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
    print(f"rivusio: error: {' '.join(message.splitlines())}", file=sys.stderr)
    return EXIT_FAILED
