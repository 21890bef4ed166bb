"""The README's example runs, its set-up commands are the ones CI runs, and its links resolve."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path
from typing import Any

from tests.test_examples import ROOT, run_script
from tests.test_guide import fenced_blocks

README = ROOT / "README.md"
EXAMPLE_OUTPUT = "68.9\n66.2\n"


def readme_example() -> str:
    """The README's one Python block."""
    (block,) = fenced_blocks(README)
    return block.code


def test_example_runs_as_a_script() -> None:
    """The README's example, saved as a file and run, prints the two converted readings."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "readme_example.py"
        script.write_text(readme_example(), encoding="utf-8")
        done = run_script(script)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == EXAMPLE_OUTPUT


async def test_example_main_runs_on_each_backend() -> None:
    """The example's ``main()`` gives the same output on asyncio and on trio."""
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(readme_example(), namespace)  # noqa: S102
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        await namespace["main"]()

    assert out.getvalue() == EXAMPLE_OUTPUT


def test_setup_is_two_commands_one_for_the_demo_one_for_the_tests() -> None:
    """The README gives exactly two commands: install and run the demo; install nox and test."""
    commands = [
        line.removeprefix("$ ")
        for block in fenced_blocks(README, "console")
        for line in block.code.splitlines()
    ]
    assert commands == [
        "python -m pip install . && python -m rivusio demo",
        "python -m pip install nox && nox -s tests",
    ]


def test_ci_runs_the_readmes_test_command() -> None:
    """``.ci/run`` says it runs the README's test command, and runs nox's tests session."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

    assert "(`python -m pip install nox && nox -s tests`)" in ci
    assert re.search(r"^nox -s tests\b", ci, re.MULTILINE)


def test_relative_links_point_at_files_in_the_repository() -> None:
    """Every relative link in the README names a file or folder that exists."""
    targets = re.findall(r"\]\((?!https?://)([^)#]+)\)", README.read_text(encoding="utf-8"))

    assert targets
    assert [target for target in targets if not (ROOT / target).exists()] == []
