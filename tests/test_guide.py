"""The user guide page ``docs/tutorial/stream-processing.md`` runs as written.

Every ```` ```python ```` block of the page is run unchanged:

- the complete programs (ending in ``if __name__ == "__main__":``) as scripts in a fresh
  interpreter, on asyncio, since they call ``asyncio.run`` themselves;
- every other block in order, in one namespace, as a reader would run them one after the
  other. Blocks with ``async for`` or ``await`` at the top level are compiled with
  ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited in an async test, so they run on asyncio
  and on trio. The names the page leaves to the reader (``source_data``, ``data``,
  ``process_result``, ``handle_stream_error``, ``handle_fatal_error``, ``List``) are put in
  the namespace first.

The page is a copy of ``../shared/seed/stream-processing.md`` (relative to the repository
root) with a preface of its own; when that file exists, the copy's blocks must equal it,
block for block. The examples in ``examples/`` keep the page's classes exactly as written.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from rivusio import AsyncStream
from rivusio.streams import StreamError, StreamPipe
from rivusio.testing import ScriptedSource, collect_timed
from tests.test_examples import EXAMPLES, EXPECTED, ROOT, run_script

GUIDE = ROOT / "docs" / "tutorial" / "stream-processing.md"
SEED = ROOT.parent / "shared" / "seed" / "stream-processing.md"


class Block(NamedTuple):
    """One fenced code block of a Markdown page."""

    section: str
    """The heading the block stands under."""
    line: int
    """The page's line number of the block's first line of code."""
    code: str
    """The code, exactly as on the page."""


def fenced_blocks(path: Path, language: str = "python") -> list[Block]:
    """Return the blocks fenced as ```` ```LANGUAGE ```` on the Markdown page at *path*."""
    blocks: list[Block] = []
    section = ""
    fence: str | None = None
    start = 0
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        if fence is None:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
            elif line.startswith("```"):
                fence, start = line.strip(), number + 1
        elif line.startswith("```"):
            if fence == f"```{language}":
                blocks.append(Block(section, start, "".join(lines[start - 1 : number - 1])))
            fence = None
    return blocks


def is_script(block: Block) -> bool:
    """Whether *block* is a complete program that runs itself under ``__main__``."""
    return 'if __name__ == "__main__":' in block.code


GUIDE_BLOCKS = fenced_blocks(GUIDE)
SCRIPTS = [block for block in GUIDE_BLOCKS if is_script(block)]
SNIPPETS = [block for block in GUIDE_BLOCKS if not is_script(block)]

SCRIPT_OUTPUT = {
    "Async Streams": EXPECTED["async_streams"],
    "Sync Streams": EXPECTED["sync_streams"],
    "Stream with Error Handling": EXPECTED["error_handling"],
}
"""What each complete program on the page prints: the same as its copy in ``examples/``."""

SOURCE_DATA = [{"id": 1}, {"id": 2}]
DATA = [1, 2, 3]

SNIPPET_OUTPUT = {
    "Basic Streaming": "{'processed': {'id': 1}}\n{'processed': {'id': 2}}\n",
    "Windowing": "",
    "Batching": "",
    "Backpressure": "",
    "Error Handling": "result: 1\nresult: 2\nresult: 3\n",
    "Monitoring": (
        "Throughput: 0.0\n"
        "Processing time: {'average': None, 'min': None, 'max': None, 'p50': None, "
        "'p95': None, 'p99': None, 'count': 0}\n"
    ),
}
"""What each other block prints when run in page order with :func:`reader_namespace`."""

GUIDE_CLASSES = {
    "MyStreamPipe": "stream_pipe",
    "WindowProcessor": "windowing",
    "BatchProcessor": "batching",
    "AsyncNumberFilterPipe": "async_streams",
    "BatchSumPipe": "sync_streams",
    "SafeDivisionPipe": "error_handling",
}
"""Each class the page defines, and the example script that holds it."""


def reader_namespace() -> dict[str, Any]:
    """The names the page leaves to the reader, filled in minimally."""

    def process_result(result: Any) -> None:
        print(f"result: {result}")

    def handle_stream_error(e: StreamError) -> None:
        print(f"stream error: {e}")

    def handle_fatal_error(e: Exception) -> None:
        print(f"fatal: {type(e).__name__}: {e}")

    return {
        "__name__": "guide",
        "source_data": SOURCE_DATA,
        "data": DATA,
        "process_result": process_result,
        "handle_stream_error": handle_stream_error,
        "handle_fatal_error": handle_fatal_error,
        "List": list,
    }


async def run_snippet(block: Block, namespace: dict[str, Any]) -> str:
    """Run *block* as written in *namespace*, awaiting it if it awaits; return its stdout."""
    # Pad with blank lines so that tracebacks point at the block's lines on the page.
    source = "\n" * (block.line - 1) + block.code
    code = compile(source, str(GUIDE), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # Running the page's own code is the point of this module.
        if code.co_flags & inspect.CO_COROUTINE:
            await eval(code, namespace)
        else:
            exec(code, namespace)  # noqa: S102
    return out.getvalue()


async def run_page_until(section: str) -> dict[str, Any]:
    """Run the page's snippets in order up to and including *section*; return the namespace."""
    namespace = reader_namespace()
    for block in SNIPPETS:
        await run_snippet(block, namespace)
        if block.section == section:
            return namespace
    raise AssertionError(f"no python block under {section!r} in {GUIDE}")


def test_every_block_has_an_expected_output() -> None:
    """The page's blocks are the ones this module checks, each with an expected output."""
    assert [block.section for block in SCRIPTS] == list(SCRIPT_OUTPUT)
    assert [block.section for block in SNIPPETS] == list(SNIPPET_OUTPUT)


def test_copy_has_the_seed_pages_blocks() -> None:
    """The docs copy of the guide has exactly the seed page's blocks, byte for byte."""
    if not SEED.exists():
        pytest.skip(f"{SEED} does not exist (only the project's shared tree has it)")
    assert [block.code for block in GUIDE_BLOCKS] == [block.code for block in fenced_blocks(SEED)]


async def test_reader_runs_the_page_top_to_bottom() -> None:
    """Each block, run in order in one namespace, runs and prints what it should."""
    namespace = reader_namespace()
    printed = {block.section: await run_snippet(block, namespace) for block in SNIPPETS}

    assert printed == SNIPPET_OUTPUT


async def test_error_block_hands_a_failed_streams_error_to_the_outer_except() -> None:
    """With a failing pipe, the guide's try/except gets the results first, then the error."""

    class Reciprocal(StreamPipe[float, float]):
        async def process_item(self, item: float) -> float:
            return 1 / item

    (block,) = [block for block in SNIPPETS if block.section == "Error Handling"]
    namespace = {**reader_namespace(), "pipe": Reciprocal(), "data": [4.0, 2.0, 0.0, 1.0]}

    printed = await run_snippet(block, namespace)

    assert printed == (
        "result: 0.25\n"
        "result: 0.5\n"
        "fatal: StreamError: stage 'Reciprocal' failed: ZeroDivisionError: float division by "
        "zero\n"
    )


async def test_window_processor_emits_each_closed_window() -> None:
    """The guide's WindowProcessor emits every item of each one-second window, on its timer."""
    namespace = await run_page_until("Windowing")
    processor = namespace["WindowProcessor"](timedelta(seconds=1))
    source = ScriptedSource([(0, {"v": 1}), (0.25, {"v": 2}), (1.0, {"v": 3})], end_delay=2)

    emitted = await collect_timed(AsyncStream(source).through(processor))

    assert emitted == [(1.0, [{"v": 1}, {"v": 2}]), (2.0, [{"v": 3}])]


async def test_batch_processor_emits_each_batch() -> None:
    """The guide's BatchProcessor emits each batch of two as a list, the last one partial."""
    namespace = await run_page_until("Batching")
    processor = namespace["BatchProcessor"](2)

    batches = [batch async for batch in AsyncStream([1, 2, 3, 4, 5]).through(processor)]

    assert batches == [[1, 2], [3, 4], [5]]


async def test_monitor_counts_the_next_run_of_the_pipe() -> None:
    """After the Monitoring block, running the guide's pipe shows up in the monitor's metrics."""
    namespace = await run_page_until("Monitoring")

    results = [item async for item in namespace["pipe"].stream(["a", "b", "c"])]
    metrics = namespace["monitor"].get_metrics()

    assert results == ["a", "b", "c"]
    assert (metrics["items_processed"], metrics["errors"], metrics["runs"]) == (3, 0, 1)


@pytest.mark.parametrize("block", SCRIPTS, ids=[block.section for block in SCRIPTS])
def test_complete_program_prints_its_output(block: Block) -> None:
    """Each complete program on the page, saved as a file and run, prints what it should."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "guide_example.py"
        script.write_text(block.code, encoding="utf-8")
        done = run_script(script)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == SCRIPT_OUTPUT[block.section]


def guide_classes() -> dict[str, str]:
    """Each class the page defines, by name, as an AST dump."""
    return {
        node.name: ast.dump(node)
        for block in GUIDE_BLOCKS
        for node in ast.parse(block.code).body
        if isinstance(node, ast.ClassDef)
    }


def test_every_guide_class_has_an_example() -> None:
    """GUIDE_CLASSES names every class the page defines."""
    assert sorted(guide_classes()) == sorted(GUIDE_CLASSES)


@pytest.mark.parametrize(("name", "example"), sorted(GUIDE_CLASSES.items()))
def test_example_keeps_the_guides_class_as_written(name: str, example: str) -> None:
    """examples/NAME.py defines the guide's class with the very same code."""
    path = EXAMPLES / f"{example}.py"
    assert path.exists(), f"{path} is missing: the guide's {name} lives there"
    classes = {
        node.name: ast.dump(node)
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef)
    }

    assert classes.get(name) == guide_classes()[name]


def test_preface_lists_an_existing_script_for_every_section() -> None:
    """The page's table of scripts has a row for each section with code, naming a real file."""
    rows = [
        line.strip("|").split("|")
        for line in GUIDE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and "`examples/" in line
    ]
    scripts = {section.strip(): script.strip().strip("`") for section, script in rows}

    assert list(scripts) == [block.section for block in GUIDE_BLOCKS]
    assert [path for path in scripts.values() if not (ROOT / path).is_file()] == []
