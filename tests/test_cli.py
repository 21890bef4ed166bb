"""The ``rivusio`` command: as a real subprocess, and in-process through ``main()``."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rivusio.cli import load_pipe, main

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent

JOB = '''\
import dataclasses
import datetime

import anyio
import attrs

from rivusio import AsyncBasePipe, SyncBasePipe
from rivusio.streams import StreamPipe


class Parse(SyncBasePipe[dict, dict]):
    """Turn 'value' into a float."""

    def process(self, data):
        return {"id": data["id"], "value": float(data["value"])}


class Slow(AsyncBasePipe[dict, dict]):
    """Wait 20 ms, then double the value."""

    async def process(self, data):
        await anyio.sleep(0.02)
        return {**data, "double": data["value"] * 2}


class Count(SyncBasePipe[list, int]):
    """The length of a list."""

    def process(self, data):
        return len(data)


class Shuffled(AsyncBasePipe[dict, int]):
    """Finish later for smaller ids."""

    async def process(self, data):
        await anyio.sleep(0.05 - data["id"] / 100)
        return data["id"]


class Needy(SyncBasePipe[dict, dict]):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor


class Opaque(SyncBasePipe[dict, object]):
    def process(self, data):
        return object()


class Shapes(SyncBasePipe[dict, dict]):
    """Results json cannot write as they are."""

    def process(self, data):
        return {
            "point": Point(1, 2),
            "pair": Pair(3, 4),
            "day": datetime.date(2024, 5, 1),
            "tags": {"b", "a"},
        }


@attrs.define
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Pair:
    left: int
    right: int


class Wrap(SyncBasePipe[dict, object]):
    def process(self, data):
        return Point(0, data["id"]) if data["id"] else object()


class Refuse(SyncBasePipe[object, object]):
    def process(self, data):
        raise ValueError("refused")


class Interrupt(SyncBasePipe[dict, dict]):
    def process(self, data):
        raise KeyboardInterrupt


parse = Parse()
pipeline = Parse() >> Slow()
wrapped = Wrap() >> Refuse()
not_a_pipe = 42
'''

PLUGINS = '''\
import attrs

from rivusio import AsyncBasePipe, SyncBasePipe
from rivusio.plugins import registry


@registry.register_async_sink("stdout")
class StdoutSink(AsyncBasePipe[str, str]):
    """Print each item and pass it on.

    Used by the CLI tests.
    """

    async def process(self, data):
        print(data)
        return data


@registry.register_sync_source("numbers")
class Numbers(SyncBasePipe[int, int]):
    def process(self, data):
        return data


@registry.register_sync_sink("stdout")
@attrs.define
class Tagged(SyncBasePipe[str, str]):
    tag: str = "out"
    width: int = attrs.field(default=8, init=False)

    def process(self, data):
        return f"{self.tag}: {data}"
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory holding ``job.py`` and ``plugins_for_cli.py``, as the current directory."""
    (tmp_path / "job.py").write_text(JOB)
    (tmp_path / "plugins_for_cli.py").write_text(PLUGINS)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in ("job", "plugins_for_cli"):
        sys.modules.pop(name, None)
    from rivusio.plugins import registry

    registry.clear()
    logger = logging.getLogger("rivusio")
    for handler in logger.handlers[1:]:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def write_lines(path: Path, *records: object) -> Path:
    """Write *records* as JSON Lines (strings are written as they are)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def numbers(count: int) -> list[dict[str, int]]:
    """Records ``{"id": i, "value": i}``."""
    return [{"id": i, "value": i} for i in range(count)]


def rivusio(
    *args: str, stdin: str | None = None, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rivusio ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "rivusio", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def output_lines(text: str) -> list[object]:
    """The JSON values of a JSON Lines text."""
    return [json.loads(line) for line in text.splitlines()]


# -- rivusio demo --------------------------------------------------------------------------

DEMO_TABLE = """\
stage         items in  items out
drop_faulty      10000       9670
enrich            9670       9670
summarize         9670         20

site       readings  mean C   min C   max C heat alerts
airport        3249   24.11   14.77   39.16          67
harbour        3227   19.08    8.60   33.50           7
north          3194   14.12    4.06   29.27           0
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_prints_counts_aggregates_and_timing(backend: str) -> None:
    """`rivusio demo` exits 0 and prints the same counts and aggregates on either backend."""
    done = rivusio("demo", "--backend", backend)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "rivusio demo: 10000 simulated sensor readings (12 sensors at 3 sites, seed 7)"
    )
    assert lines[1] == "pipeline: drop_faulty >> enrich >> summarize (batches of 500)"
    assert DEMO_TABLE in done.stdout
    assert re.fullmatch(
        r"processing time per item and stage: average \d+\.\d µs, p99 \d+\.\d µs", lines[-2]
    )
    assert re.fullmatch(rf"done in \d+\.\d{{3}} s on {backend} \([\d,]+ readings/s\)", lines[-1])


def test_demo_needs_only_the_core_dependencies() -> None:
    """Without rich (and even when told the output is a terminal) the demo prints plain text."""
    code = (
        "import runpy, sys; sys.modules['rich'] = None; "
        "sys.argv = ['rivusio', 'demo', '--count', '1000']; "
        "runpy.run_module('rivusio', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "FORCE_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "stage         items in  items out\ndrop_faulty       1000" in done.stdout


def test_demo_draws_tables_on_a_terminal() -> None:
    """With rich and a terminal (forced with FORCE_COLOR), the demo draws tables."""
    done = rivusio("demo", "--count", "1000", env={"FORCE_COLOR": "1"})
    assert done.returncode == 0
    assert "┏" in done.stdout
    assert "drop_faulty" in done.stdout


def test_the_console_script_runs_the_demo() -> None:
    """The installed `rivusio` script is the same command."""
    script = Path(sys.executable).with_name("rivusio")
    done = subprocess.run(
        [str(script), "demo", "--count", "100"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("rivusio demo: 100 simulated sensor readings")


# -- rivusio run, as a real process ----------------------------------------------------------


def test_run_a_file_to_a_file(workdir: Path) -> None:
    """Good input: every record is written, the summary goes to stderr, exit 0."""
    write_lines(workdir / "in.jsonl", *numbers(3))
    done = rivusio("run", "job:pipeline", "-i", "in.jsonl", "-o", "out.jsonl", cwd=workdir)
    assert done.returncode == 0
    assert done.stdout == ""
    assert output_lines((workdir / "out.jsonl").read_text()) == [
        {"id": i, "value": float(i), "double": 2.0 * i} for i in range(3)
    ]
    summary = done.stderr.splitlines()
    assert re.fullmatch(
        r"rivusio: done in \d+\.\d\d s: 3 items in \([\d,]+ items/s\), 3 out, 0 errors, "
        r"0 skipped, 0 dead-lettered",
        summary[0],
    )
    assert summary[1] == ("stage  items in  items out  errors  skipped  dead-lettered  blocked s")
    assert summary[2].split()[:6] == ["Parse", "3", "3", "0", "0", "0"]
    assert summary[3].split()[:6] == ["Slow", "3", "3", "0", "0", "0"]


def test_run_stdin_to_stdout(workdir: Path) -> None:
    """`-` (the default) reads stdin and writes stdout; blank lines are ignored."""
    stdin = json.dumps({"id": 1, "value": "2.5"}) + "\n\n" + json.dumps({"id": 2, "value": 1})
    done = rivusio("run", "job:parse", "--no-progress", stdin=stdin, cwd=workdir)
    assert (done.returncode, done.stderr) == (0, "")
    assert output_lines(done.stdout) == [{"id": 1, "value": 2.5}, {"id": 2, "value": 1.0}]


def test_a_bad_line_stops_the_run_and_names_the_line(workdir: Path) -> None:
    """Under the default policy a malformed line fails the run with one error line."""
    write_lines(workdir / "in.jsonl", numbers(1)[0], "", "{oops", numbers(2)[1])
    done = rivusio("run", "job:parse", "-i", "in.jsonl", "--no-progress", cwd=workdir)
    assert done.returncode == 1
    assert done.stderr == (
        "rivusio: error: input line 3: not valid JSON: Expecting property name enclosed in "
        "double quotes (column 2)\n"
    )
    assert output_lines(done.stdout) == [{"id": 0, "value": 0.0}]


def test_a_bad_line_is_dead_lettered(workdir: Path) -> None:
    """With --on-error dead-letter FILE the line goes to FILE and the run goes on."""
    write_lines(workdir / "in.jsonl", numbers(1)[0], "[1, 2", numbers(2)[1])
    done = rivusio(
        "run", "job:parse", "-i", "in.jsonl", "--on-error", "dead-letter", "dead.jsonl",
        "--no-progress", cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0
    assert output_lines(done.stdout) == [{"id": 0, "value": 0.0}, {"id": 1, "value": 1.0}]
    assert output_lines((workdir / "dead.jsonl").read_text()) == [
        {
            "stage": "input",
            "error": "not valid JSON: Expecting ',' delimiter (column 6)",
            "line": 2,
            "text": "[1, 2",
        }
    ]
    assert done.stderr == (
        "rivusio: 1 input line was not JSON and was dead-lettered to dead.jsonl\n"
    )


def test_a_failing_record_stops_the_run(workdir: Path) -> None:
    """A record the pipe cannot process fails the run: exit 1 and one error line last."""
    write_lines(workdir / "in.jsonl", {"id": 1, "value": "x"})
    done = rivusio("run", "job:parse", "-i", "in.jsonl", cwd=workdir)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("rivusio: stopped in ")
    assert lines[-1] == (
        "rivusio: error: stage 'Parse' failed: ValueError: could not convert string to float: 'x'"
    )


def test_progress_lines_when_stderr_is_not_a_terminal(workdir: Path) -> None:
    """Progress comes as plain, periodic lines on stderr when it is not a terminal."""
    write_lines(workdir / "in.jsonl", *numbers(20))
    done = rivusio(
        "run", "job:pipeline", "-i", "in.jsonl", "-o", "out.jsonl", "--progress-interval",
        "0.05", cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0
    progress = [line for line in done.stderr.splitlines() if " items/s | " in line]
    assert len(progress) >= 3
    for line in progress:
        assert re.fullmatch(
            r"rivusio: \d+\.\d s, \d+ in, \d+ out, 0 errors, [\d,]+ items/s "
            r"\| Parse \d+/1000 \| Slow \d+/1000",
            line,
        )
    assert "rivusio: done in " in done.stderr


def test_metrics_endpoint_while_running(workdir: Path) -> None:
    """--metrics-port serves live Prometheus metrics on loopback during the run."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rivusio", "run", "job:parse", "--metrics-port", "0",
         "--no-progress"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=workdir,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stderr is not None
    try:
        first = process.stderr.readline()
        match = re.fullmatch(
            r"rivusio: serving metrics at (http://127\.0\.0\.1:\d+/metrics)\n", first
        )
        assert match is not None, first
        process.stdin.write("".join(json.dumps(r) + "\n" for r in numbers(3)))
        process.stdin.flush()
        deadline = time.monotonic() + 30
        scraped = ""
        while 'rivusio_items_processed_total{pipeline="Parse"} 3.0' not in scraped:
            assert time.monotonic() < deadline, scraped
            time.sleep(0.05)
            with urllib.request.urlopen(match.group(1), timeout=10) as response:
                scraped = response.read().decode()
        assert 'rivusio_stage_items_out_total{pipeline="Parse",stage="Parse"} 3.0' in scraped
        out, _err = process.communicate("", timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    assert len(output_lines(out)) == 3


def test_ctrl_c_stops_a_run_waiting_on_stdin(workdir: Path) -> None:
    """SIGINT while the run waits for input exits with 130 and one line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rivusio", "run", "job:parse", "--no-progress"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=workdir,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(json.dumps({"id": 1, "value": 1}) + "\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline()) == {"id": 1, "value": 1.0}
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert (process.returncode, err) == (130, "rivusio: interrupted\n")


def test_bad_arguments_exit_with_2() -> None:
    """argparse refuses a batch size of 0 with status 2."""
    done = rivusio("run", "job:parse", "--batch-size", "0")
    assert done.returncode == 2
    assert "argument --batch-size: expected a number >= 1, got '0'" in done.stderr


# -- rivusio run, in-process -------------------------------------------------------------------


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Call ``main(args)``; return the status, stdout and stderr."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_skip_drops_failed_records_and_bad_lines(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--on-error skip drops failing records and bad lines and reports how many."""
    write_lines(workdir / "in.jsonl", numbers(1)[0], "nope", {"id": 1, "value": "x"})
    status, out, err = run_main(capsys, "run", "job:parse", "-i", "in.jsonl", "--on-error", "skip")
    assert status == 0
    assert output_lines(out) == [{"id": 0, "value": 0.0}]
    lines = err.splitlines()
    assert re.fullmatch(
        r"rivusio: done in \d+\.\d\d s: 2 items in \([\d,]+ items/s\), 1 out, 1 errors, "
        r"1 skipped, 0 dead-lettered",
        lines[0],
    )
    assert lines[-1] == "rivusio: 1 input line was not JSON and was skipped"


def test_failed_records_are_dead_lettered(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record the pipe fails on is written to the dead-letter file with its error."""
    write_lines(workdir / "in.jsonl", {"id": 1, "value": "x"}, numbers(3)[2])
    status, out, _ = run_main(
        capsys, "run", "job:parse", "-i", "in.jsonl", "--on-error", "dead-letter",
        "dead.jsonl", "--no-progress",
    )  # fmt: skip
    assert status == 0
    assert output_lines(out) == [{"id": 2, "value": 2.0}]
    assert output_lines((workdir / "dead.jsonl").read_text()) == [
        {
            "stage": "Parse",
            "error": "ValueError: could not convert string to float: 'x'",
            "item": {"id": 1, "value": "x"},
        }
    ]


def test_batch_size_hands_the_pipe_lists(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--batch-size N gives the pipe lists of up to N records."""
    write_lines(workdir / "in.jsonl", *numbers(7))
    status, out, err = run_main(capsys, "run", "job:Count", "-i", "in.jsonl", "--batch-size", "3")
    assert (status, output_lines(out)) == (0, [3, 3, 1])
    assert err.splitlines()[2].split()[:3] == ["batch", "7", "3"]


def test_window_hands_the_pipe_time_windows(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--window SECONDS gives the pipe the records of each window as a list."""
    write_lines(workdir / "in.jsonl", *numbers(5))
    status, out, _ = run_main(
        capsys, "run", "job:Count", "-i", "in.jsonl", "--window", "60", "--no-progress"
    )
    assert (status, output_lines(out)) == (0, [5])


def test_concurrency_keeps_input_order(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--concurrency N overlaps records and still writes them in input order."""
    write_lines(workdir / "in.jsonl", *numbers(5))
    status, out, _ = run_main(
        capsys, "run", "job:Shuffled", "-i", "in.jsonl", "--concurrency", "5", "--no-progress"
    )
    assert (status, output_lines(out)) == (0, [0, 1, 2, 3, 4])


def test_run_a_pipe_from_a_file_path(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MODULE may be a path to a .py file."""
    write_lines(workdir / "in.jsonl", *numbers(2))
    status, out, _ = run_main(
        capsys, "run", str(workdir / "job.py") + ":parse", "-i", "in.jsonl", "--no-progress"
    )
    assert (status, output_lines(out)) == (0, [{"id": 0, "value": 0.0}, {"id": 1, "value": 1.0}])


def test_log_records_name_their_stage(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--log-level shows rivusio's records on stderr, each with its stage."""
    write_lines(workdir / "in.jsonl", {"id": 1, "value": "x"})
    status, _, err = run_main(
        capsys, "run", "job:parse", "-i", "in.jsonl", "--on-error", "skip", "--no-progress",
        "--log-level", "warning",
    )  # fmt: skip
    assert status == 0
    assert err == (
        "rivusio WARNING [Parse] stage 'Parse': skipped item {'id': 1, 'value': 'x'} after "
        "ValueError: could not convert string to float: 'x'\n"
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("job", "pipe: expected MODULE:ATTR, for example 'jobs.orders:pipeline' (got 'job')"),
        (
            "nowhere:pipe",
            (
                "pipe 'nowhere:pipe': no module named 'nowhere' (run rivusio from the directory "
                "that holds it, or give a path to the .py file)"
            ),
        ),
        ("missing.py:pipe", "pipe 'missing.py:pipe': no such file 'missing.py'"),
        ("job:nothing", "pipe 'job:nothing': 'job' has no attribute 'nothing'"),
        ("job:not_a_pipe", "pipe 'job:not_a_pipe': expected a pipe or a pipe class, got int"),
        (
            "job:Needy",
            (
                "pipe 'job:Needy': Needy() needs arguments (Needy.__init__() missing 1 required "
                "positional argument: 'factor'); create the pipe in your module and name the "
                "instance"
            ),
        ),
    ],
)
def test_a_pipe_that_cannot_be_found(
    workdir: Path, capsys: pytest.CaptureFixture[str], target: str, message: str
) -> None:
    """Each way of naming a pipe wrongly gets one line saying what is wrong."""
    assert run_main(capsys, "run", target) == (1, "", f"rivusio: error: {message}\n")


def test_a_broken_user_module_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An import error inside the user's module is reported, not hidden."""
    (workdir / "broken_job.py").write_text("import not_installed_anywhere\n")
    status, _, err = run_main(capsys, "run", "broken_job:pipe")
    sys.modules.pop("broken_job", None)
    assert (status, err) == (
        1,
        "rivusio: error: ModuleNotFoundError: No module named 'not_installed_anywhere'\n",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--on-error", "ignore"], ("--on-error: expected 'raise', 'skip' or 'dead-letter FILE' "
         "(got 'ignore')")),
        (["--on-error", "dead-letter"], ("--on-error: expected 'raise', 'skip' or "
         "'dead-letter FILE' (got 'dead-letter')")),
        (["-i", "no-such-file.jsonl"], "no-such-file.jsonl: No such file or directory"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    """A bad --on-error or a missing input file fails with one line."""
    assert run_main(capsys, "run", "job:parse", *arguments) == (
        1, "", f"rivusio: error: {message}\n"
    )  # fmt: skip


def test_output_that_is_not_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A result json cannot write fails the run with a message naming its type."""
    write_lines(workdir / "in.jsonl", *numbers(1))
    status, _, err = run_main(capsys, "run", "job:Opaque", "-i", "in.jsonl", "--no-progress")
    assert (status, err) == (
        1,
        (
            "rivusio: error: output: a object is not JSON-serializable; return dicts, lists, "
            "strings, numbers, booleans, None, or attrs or dataclass instances\n"
        ),
    )


def test_metrics_port_without_prometheus_client(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--metrics-port without the extra says what to install."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "rivusio.monitoring.prometheus", raising=False)
    status, _, err = run_main(capsys, "run", "job:parse", "--metrics-port", "0")
    assert (status, err) == (
        1,
        (
            "rivusio: error: --metrics-port: rivusio.monitoring.prometheus needs "
            "prometheus_client: pip install 'rivusio[prometheus]'\n"
        ),
    )


# -- plugins -----------------------------------------------------------------------------------


def test_list_pipes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """list-pipes shows every registered plugin with its kind, class and summary."""
    status, out, _ = run_main(capsys, "list-pipes", "--import", "plugins_for_cli")
    assert status == 0
    assert out.splitlines() == [
        "name     kind         class                       summary",
        "stdout   async sink   plugins_for_cli.StdoutSink  Print each item and pass it on.",
        "numbers  sync source  plugins_for_cli.Numbers",
        "stdout   sync sink    plugins_for_cli.Tagged",
    ]


def test_list_pipes_as_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """list-pipes --json prints the plugin records."""
    status, out, _ = run_main(capsys, "list-pipes", "--import", "plugins_for_cli", "--json")
    assert status == 0
    assert json.loads(out) == [
        {
            "name": "stdout",
            "kind": "async_sink",
            "class": "plugins_for_cli.StdoutSink",
            "summary": "Print each item and pass it on.",
        },
        {
            "name": "numbers",
            "kind": "sync_source",
            "class": "plugins_for_cli.Numbers",
            "summary": "",
        },
        {
            "name": "stdout",
            "kind": "sync_sink",
            "class": "plugins_for_cli.Tagged",
            "summary": "",
        },
    ]


def test_list_pipes_with_none_registered(capsys: pytest.CaptureFixture[str]) -> None:
    """With no plugins, list-pipes says how to register some."""
    from rivusio.plugins import registry

    registry.clear()
    assert run_main(capsys, "list-pipes") == (
        0,
        "no plugins registered (import the module that registers them with --import)\n",
        "",
    )


def test_info(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """info NAME describes each plugin of that name: kind, class, fields and docstring."""
    status, out, _ = run_main(capsys, "info", "stdout", "--import", "plugins_for_cli")
    assert status == 0
    assert out == (
        "name: stdout\n"
        "kind: async sink\n"
        "class: plugins_for_cli.StdoutSink\n"
        "\n"
        "Print each item and pass it on.\n"
        "\n"
        "    Used by the CLI tests.\n"
        "\n"
        "name: stdout\n"
        "kind: sync sink\n"
        "class: plugins_for_cli.Tagged\n"
        "field: tag: str = 'out'\n"
    )


def test_info_of_an_unknown_plugin(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """info of a name nobody registered fails with the registry's suggestion."""
    assert run_main(capsys, "info", "stdot", "--import", "plugins_for_cli") == (
        1,
        "",
        (
            "rivusio: error: plugin 'stdot': not registered; did you mean 'stdout'? "
            "(registered: 'numbers', 'stdout')\n"
        ),
    )


def test_info_as_json_lists_the_fields(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """info --json gives each registration of the name with the fields its class adds."""
    status, out, _ = run_main(capsys, "info", "stdout", "--import", "plugins_for_cli", "--json")
    assert status == 0
    assert [(p["kind"], p["class"], p["fields"]) for p in json.loads(out)] == [
        ("async_sink", "plugins_for_cli.StdoutSink", []),
        ("sync_sink", "plugins_for_cli.Tagged", ["tag: str = 'out'"]),
    ]


def test_a_broken_plugin_entry_point(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed plugin that fails to load is named in one line."""
    import importlib.metadata

    broken = importlib.metadata.EntryPoint(
        name="broken", value="not_a_module_anywhere:plugin", group="rivusio.plugins"
    )
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    assert run_main(capsys, "list-pipes") == (
        1,
        "",
        (
            "rivusio: error: plugin entry point 'broken' (not_a_module_anywhere:plugin): "
            "ModuleNotFoundError: No module named 'not_a_module_anywhere'\n"
        ),
    )


# -- rivusio run, in-process: the paths the subprocess tests take too --------------------------


def test_stdin_lines_in_process(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Input that is not a regular file is read a line at a time; bad lines are skipped."""
    lines = [json.dumps(numbers(1)[0]), "", "{", json.dumps(numbers(2)[1])]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    status, out, err = run_main(capsys, "run", "job:parse", "--on-error", "skip", "--no-progress")
    assert status == 0
    assert output_lines(out) == [{"id": 0, "value": 0.0}, {"id": 1, "value": 1.0}]
    assert err == "rivusio: 1 input line was not JSON and was skipped\n"


def test_bad_line_in_process(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad line under 'raise' is one error line naming the line."""
    write_lines(workdir / "in.jsonl", "nope")
    assert run_main(capsys, "run", "job:parse", "-i", "in.jsonl", "--no-progress") == (
        1,
        "",
        "rivusio: error: input line 1: not valid JSON: Expecting value (column 1)\n",
    )


def test_failing_record_in_process(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A failing record ends the run with the summary, then the stage's error."""
    write_lines(workdir / "in.jsonl", {"id": 1, "value": "x"})
    status, _, err = run_main(capsys, "run", "job:parse", "-i", "in.jsonl")
    assert status == 1
    lines = err.splitlines()
    assert re.fullmatch(r"rivusio: stopped in \d+\.\d\d s: 1 items in .*", lines[0])
    assert lines[-1] == (
        "rivusio: error: stage 'Parse' failed: ValueError: could not convert string to float: 'x'"
    )


def test_bad_line_dead_lettered_in_process(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad line under 'dead-letter FILE' goes to FILE with its number."""
    write_lines(workdir / "in.jsonl", "nope", *numbers(1))
    status, out, _ = run_main(
        capsys, "run", "job:parse", "-i", "in.jsonl", "--on-error", "dead-letter",
        "dead.jsonl", "--no-progress",
    )  # fmt: skip
    assert (status, output_lines(out)) == (0, [{"id": 0, "value": 0.0}])
    assert output_lines((workdir / "dead.jsonl").read_text()) == [
        {"stage": "input", "error": "not valid JSON: Expecting value (column 1)", "line": 1,
         "text": "nope"}
    ]  # fmt: skip


def test_results_json_cannot_write_as_they_are(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """attrs and dataclass instances, dates and sets are written as JSON."""
    write_lines(workdir / "in.jsonl", *numbers(1))
    status, out, _ = run_main(capsys, "run", "job:Shapes", "-i", "in.jsonl", "--no-progress")
    assert (status, output_lines(out)) == (
        0,
        [
            {
                "point": {"x": 1, "y": 2},
                "pair": {"left": 3, "right": 4},
                "day": "2024-05-01",
                "tags": ["a", "b"],
            }
        ],
    )


def test_dead_letters_of_items_json_cannot_write(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dead letter keeps an item json cannot write as its repr."""
    write_lines(workdir / "in.jsonl", *numbers(2))
    status, _, _ = run_main(
        capsys, "run", "job:wrapped", "-i", "in.jsonl", "--on-error", "dead-letter",
        "dead.jsonl", "--no-progress",
    )  # fmt: skip
    assert status == 0
    letters = output_lines((workdir / "dead.jsonl").read_text())
    assert [letter["item"] for letter in letters][1] == {"x": 0, "y": 1}  # type: ignore[index]
    assert re.fullmatch(r"<object object at 0x[0-9a-f]+>", letters[0]["item"])  # type: ignore[index]


def test_progress_ticks_in_process(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The plain display ticks while the run goes on."""
    write_lines(workdir / "in.jsonl", *numbers(10))
    status, _, err = run_main(
        capsys, "run", "job:pipeline", "-i", "in.jsonl", "-o", "out.jsonl",
        "--progress-interval", "0.05",
    )  # fmt: skip
    assert status == 0
    assert re.search(r"^rivusio: \d\.\d s, \d+ in, \d+ out, 0 errors", err, re.MULTILINE)


def test_rich_progress_and_logs_in_process(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, logs go through rich beside the live table, with the stage name."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    write_lines(workdir / "in.jsonl", {"id": 1, "value": "x"}, *numbers(3))
    status, _, err = run_main(
        capsys, "run", "job:parse", "-i", "in.jsonl", "-o", "out.jsonl", "--on-error", "skip",
        "--log-level", "warning",
    )  # fmt: skip
    assert status == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err)
    assert "[Parse] stage 'Parse': skipped item {'id': 1, 'value': 'x'}" in text
    assert "rivusio: done in" in text


def test_metrics_port_in_process(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--metrics-port 0 serves on a free loopback port for the length of the run."""
    write_lines(workdir / "in.jsonl", *numbers(1))
    status, _, err = run_main(
        capsys, "run", "job:parse", "-i", "in.jsonl", "--metrics-port", "0", "--no-progress"
    )
    assert status == 0
    assert re.fullmatch(r"rivusio: serving metrics at http://127\.0\.0\.1:\d+/metrics\n", err)


def test_interrupt_in_process(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A KeyboardInterrupt during the run exits with 130."""
    write_lines(workdir / "in.jsonl", *numbers(1))
    assert run_main(capsys, "run", "job:Interrupt", "-i", "in.jsonl", "--no-progress") == (
        130,
        "",
        "rivusio: interrupted\n",
    )


def test_demo_without_rich_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without rich the demo's report is plain even on a terminal."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setitem(sys.modules, "rich.console", None)
    status, out, _ = run_main(capsys, "demo", "--count", "100")
    assert status == 0
    assert "stage         items in  items out" in out


def test_loading_a_pipe_twice(workdir: Path) -> None:
    """The current directory is put on the import path once."""
    assert load_pipe("job:parse") is load_pipe("job:parse")
    assert sys.path.count(str(workdir)) <= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--concurrency=x", "argument --concurrency: expected a whole number, got 'x'"),
        ("--concurrency=0", "argument --concurrency: expected a number >= 1, got '0'"),
        ("--metrics-port=x", "argument --metrics-port: expected a port number, got 'x'"),
        ("--metrics-port=70000", ("argument --metrics-port: expected a port from 0 to 65535, "
         "got '70000'")),
        ("--window=x", "argument --window: expected seconds, got 'x'"),
        ("--window=0", "argument --window: expected seconds > 0, got '0'"),
    ],
)  # fmt: skip
def test_option_values_are_checked(
    capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """Numbers, ports and durations are checked by argparse, exiting with 2."""
    with pytest.raises(SystemExit) as exited:
        main(["run", "job:parse", text])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"rivusio run: error: {message}"


def test_the_documented_orders_job(tmp_path: Path) -> None:
    """examples/cli/orders.py over its orders.jsonl gives the counts the docs show."""
    done = rivusio(
        "run", "orders:pipeline", "--input", "orders.jsonl", "--output",
        str(tmp_path / "large.jsonl"), "--on-error", "skip", "--progress-interval", "60",
        cwd=ROOT / "examples" / "cli",
    )  # fmt: skip
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    assert re.fullmatch(
        r"rivusio: done in \d+\.\d\d s: 199 items in \([\d,]+ items/s\), 131 out, 2 errors, "
        r"2 skipped, 0 dead-lettered",
        lines[0],
    )
    assert [line.split()[:6] for line in lines[2:5]] == [
        ["Parse", "199", "197", "2", "2", "0"],
        ["ToEuro", "197", "197", "0", "0", "0"],
        ["Large", "197", "131", "0", "0", "0"],
    ]
    assert lines[-1] == "rivusio: 1 input line was not JSON and was skipped"
    assert len(output_lines((tmp_path / "large.jsonl").read_text())) == 131
