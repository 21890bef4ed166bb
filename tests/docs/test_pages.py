"""The documentation shows only code that runs, and the outputs it shows are the real ones.

Code on a page comes from a file that a test runs: an example in ``examples/`` (see
``tests/test_examples.py``) or a test, included with ``literalinclude``. The user guide page,
whose blocks are written out on the page, is run block by block by ``tests/test_guide.py``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.test_examples import EXPECTED, ROOT
from tests.test_guide import GUIDE, fenced_blocks

if TYPE_CHECKING:
    from pathlib import Path

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("**/*.md"))

PAGE_OUTPUTS = {
    "tutorial/first-pipeline.md": "first_pipeline",
    "tutorial/streams.md": "streams_tutorial",
    "how-to/error-handling.md": "error_handling",
}
"""Pages whose ``text`` blocks are the output of an example script, and the script's name."""


@pytest.mark.parametrize("page", [p for p in PAGES if p != GUIDE], ids=lambda p: p.stem)
def test_page_has_no_python_block_that_no_test_runs(page: Path) -> None:
    """Pages other than the user guide include their Python code from files that tests run."""
    assert fenced_blocks(page) == []


@pytest.mark.parametrize(("page", "example"), sorted(PAGE_OUTPUTS.items()))
def test_outputs_shown_are_what_the_example_prints(page: str, example: str) -> None:
    """Each output block on the page is a run of whole lines of the example's real output."""
    blocks = [block.code for block in fenced_blocks(DOCS / page, "text")]

    assert blocks
    assert [block for block in blocks if f"\n{block}" not in f"\n{EXPECTED[example]}"] == []


def test_example_scripts_named_in_the_docs_exist() -> None:
    """Every ``examples/NAME.py`` that the README or a page mentions is a real script."""
    texts = [page.read_text(encoding="utf-8") for page in [*PAGES, ROOT / "README.md"]]
    named = {name for text in texts for name in re.findall(r"examples/(\w+)\.py", text)}

    assert named
    assert sorted(name for name in named if not (ROOT / "examples" / f"{name}.py").exists()) == []
