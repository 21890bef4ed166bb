"""Sphinx configuration for the rivusio documentation.

Pages are Markdown (MyST). The API reference comes from the docstrings (Google style, read by
napoleon). Build with ``nox -s docs``, which runs ``sphinx-build -W``: every warning fails the
build.
"""

from __future__ import annotations

import re
from importlib.metadata import version as _version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx

project = "rivusio"
author = "The rivusio developers"
copyright = "the rivusio developers"
release = _version("rivusio")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = "rivusio"


# index.md lists each section (tutorial/, how-to/, reference/, explanation/) with a glob
# toctree, so a new page appears without editing the index. A section with no page yet would
# make Sphinx warn (an error under -W), so its toctree is left out of the index until it has
# one.
_SECTION_TOCTREE = re.compile(
    r"^```\{toctree\}\n(?:(?!```).*\n)*?(?P<section>[\w-]+)/\*\n```\n", re.MULTILINE
)


def _drop_empty_sections(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != root_doc:
        return
    srcdir = Path(app.srcdir)

    def keep_if_section_has_pages(match: re.Match[str]) -> str:
        return match.group(0) if any((srcdir / match["section"]).glob("*.md")) else ""

    source[0] = _SECTION_TOCTREE.sub(keep_if_section_has_pages, source[0])


def setup(app: Sphinx) -> None:
    """Register the hook that leaves empty sections out of the index."""
    app.connect("source-read", _drop_empty_sections)
