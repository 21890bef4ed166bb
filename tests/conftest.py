"""Shared pytest configuration: both async backends on virtual time, and Hypothesis profiles.

Every ``async def`` test runs twice, once on asyncio and once on trio (anyio's pytest plugin in
auto mode, with the ``anyio_backend`` fixture below). Each run gets a fresh virtual clock that
starts at ``0.0`` and jumps to the next timer whenever every task is waiting, so timer-driven
behaviour is fast and exact. A test that mixes worker threads or processes with timers is
marked ``@pytest.mark.real_clock`` and runs on the backends' real clocks instead.

When trio is not installed (``nox -s tests_asyncio_only``), the trio runs skip themselves.

Hypothesis profiles: ``ci`` (derandomized, no deadline) is the default when ``CI=true``,
``dev`` otherwise; ``HYPOTHESIS_PROFILE`` picks one explicitly.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

from rivusio.testing import VirtualTimeLoop

# Virtual time makes async examples fast, but the first example on each backend pays for
# imports and loop start-up in real time, so deadlines would only add flakiness.
settings.register_profile(
    "ci", deadline=None, derandomize=True, database=None, max_examples=50, print_blob=True
)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``real_clock`` marker."""
    config.addinivalue_line(
        "markers",
        "real_clock: run this async test on the backends' real clocks instead of virtual time "
        "(for tests that combine worker threads or processes with timers)",
    )


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Run the test on asyncio and on trio, each with a fresh virtual clock starting at 0.0."""
    real_clock = request.node.get_closest_marker("real_clock") is not None
    # The clock is built here, in the fixture body, and not in the params: a clock built
    # once at collection would be shared by every test and keep its time between them.
    if request.param == "asyncio":
        return ("asyncio", {} if real_clock else {"loop_factory": VirtualTimeLoop})
    trio_testing = pytest.importorskip("trio.testing", reason="trio is not installed")
    return ("trio", {} if real_clock else {"clock": trio_testing.MockClock(autojump_threshold=0)})
