"""Development sessions for rivusio: tests, lint, typecheck, docs and benchmarks.

``nox`` with no arguments runs ``tests``, ``lint``, ``typecheck`` and ``docs``, the same
sessions CI runs (``.ci/run``); ``nox -l`` lists them all. Arguments after ``--`` go to the
session's main tool, for example ``nox -s tests -- tests/test_testing.py -k sleep``.

Which Python: every session runs on the interpreter that runs nox itself (any supported
version, 3.10 or later), so ``python -m pip install nox && nox -s tests`` works on a machine
with a single Python. ``tests_matrix`` runs the suite once per Python version the package
declares in its trove classifiers; it needs all of them installed and fails, rather than
skips, when one is missing.

Dependencies come from the ``[dependency-groups]`` of ``pyproject.toml``, read by nox itself
(``nox.project.dependency_groups``), so any pip can install them. The package is installed in
editable mode, so coverage and tracebacks point at the files in the working tree.
"""

from __future__ import annotations

from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

nox.needs_version = ">=2025.2.9"
nox.options.error_on_missing_interpreters = True
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)


def install(session: nox.Session, *groups: str, project: bool = True, without: str = "") -> None:
    """Install dependency groups from pyproject.toml, and the project itself, in one pip call.

    Args:
        session: The session whose virtualenv receives the packages.
        *groups: Names of ``[dependency-groups]`` to install.
        project: Also install this project, editable.
        without: Name of one package to leave out of the groups (``"trio"`` for the
            asyncio-only run).
    """
    requirements = [
        requirement
        for requirement in nox.project.dependency_groups(PYPROJECT, *groups)
        if not without
        or canonicalize_name(Requirement(requirement).name) != canonicalize_name(without)
    ]
    session.install(*(["-e", "."] if project else []), *requirements)


def run_pytest_under_coverage(session: nox.Session) -> None:
    """Run pytest under coverage (every async test on asyncio and trio), then report.

    Coverage runs in parallel mode (see ``[tool.coverage.run]``), so the data files are
    combined before the report. pytest's own exit codes fail the session, including 5
    ("no tests collected").
    """
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite on asyncio and trio with coverage."""
    install(session, "test")
    run_pytest_under_coverage(session)


@nox.session(python=PYTHONS)
def tests_matrix(session: nox.Session) -> None:
    """Run the test suite with coverage once per supported Python version."""
    install(session, "test")
    run_pytest_under_coverage(session)


@nox.session
def coverage(session: nox.Session) -> None:
    """Fail unless the last ``tests`` run covered every line and branch of the package.

    Run it after the tests: ``nox -s tests coverage``.
    """
    install(session, "coverage", project=False)
    session.run("coverage", "report", "--fail-under=100")


@nox.session
def tests_asyncio_only(session: nox.Session) -> None:
    """Run the test suite without trio installed: the trio runs skip themselves."""
    install(session, "test", without="trio")
    session.run(
        "python",
        "-c",
        "import importlib.util, sys; "
        "sys.exit('trio is installed' if importlib.util.find_spec('trio') else 0)",
    )
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    install(session, "lint", project=False)
    session.run("ruff", "check", *(session.posargs or ["."]))
    session.run("ruff", "format", "--check", *(session.posargs or ["."]))


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package, tests, noxfile, examples and benchmarks with mypy --strict."""
    install(session, "typecheck")
    # The paths come from [tool.mypy] files; a folder with nothing in it yet does not exist in
    # a fresh clone, and mypy refuses a missing path.
    configured: list[str] = PYPROJECT["tool"]["mypy"]["files"]
    session.run("mypy", *(session.posargs or [p for p in configured if (ROOT / p).exists()]))


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML documentation, with every Sphinx warning an error."""
    install(session, "docs")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        *session.posargs,
        "docs",
        "docs/_build/html",
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks (``python -m benchmarks``), with trio installed."""
    if not (ROOT / "benchmarks" / "__main__.py").exists():
        session.skip("benchmarks/__main__.py does not exist")
    install(session, "bench")
    session.run("python", "-m", "benchmarks", *session.posargs)
