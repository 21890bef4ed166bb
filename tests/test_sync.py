"""SyncStream: inline sync chains, and the same plan on a background event loop."""

from __future__ import annotations

import gc
import importlib.util
import threading
import time
from typing import TYPE_CHECKING

import pytest

from rivusio import DeadLetter, StreamConfig, StreamError, SyncBasePipe, SyncStream
from rivusio.streams import StreamPipe

from .helpers import Double, FailOn, Hooks, Inc

if TYPE_CHECKING:
    from collections.abc import Iterator

BACKENDS = [
    "asyncio",
    pytest.param(
        "trio",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("trio") is None, reason="trio is not installed"
        ),
    ),
]


class NoLoop(SyncBasePipe[int, int]):
    """Records whether an event loop or an extra thread was present while processing."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()

    def process(self, data: int) -> int:
        self.threads.add(threading.current_thread().name)
        return data


class SyncHooks(SyncBasePipe[int, int]):
    """Sync identity recording setup/teardown."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def setup(self) -> None:
        self.events.append("setup")

    def teardown(self) -> None:
        self.events.append("teardown")

    def process(self, data: int) -> int:
        return data


def test_sync_pipes_run_inline_in_the_callers_thread() -> None:
    """A chain of sync pipes runs in the calling thread with no extra threads."""
    probe = NoLoop()
    before = threading.active_count()
    results = list(SyncStream(range(1000)).through(Double() >> probe).through(Double()))
    assert results == [x * 4 for x in range(1000)]
    assert probe.threads == {threading.current_thread().name}
    assert threading.active_count() == before


def test_inline_failure_is_a_stream_error_after_the_earlier_outputs() -> None:
    """Outputs before the failing item come out, then a StreamError naming pipe and item."""
    seen: list[int] = []
    with pytest.raises(StreamError, match="stage 'FailOn' failed: ValueError: bad item 4") as info:
        for item in SyncStream(range(10)).through(Double() >> FailOn([4])):
            seen.append(item)
    assert seen == [0, 2]
    assert info.value.item == 4


def test_inline_skip_dead_letter_and_handle_error() -> None:
    """Error policies and handle_error work without an event loop."""

    class Guarded(FailOn):
        def handle_error(self, error: Exception, data: int) -> int:
            return -1

    letters: list[DeadLetter] = []
    config = StreamConfig(on_error="dead_letter", dead_letter=letters)
    stream = SyncStream(range(6), config).through(
        FailOn([1], on_error="skip") >> Guarded([2]) >> FailOn([3])
    )
    assert list(stream) == [0, -1, 4, 5]
    assert [(d.item, d.stage) for d in letters] == [(3, "FailOn")]


def test_inline_source_failure() -> None:
    """A failing source gives StreamError for stage 'source'."""

    def broken() -> Iterator[int]:
        yield 1
        raise OSError("gone")

    with pytest.raises(StreamError, match="stage 'source' failed: OSError: gone"):
        list(SyncStream(broken()).through(Double()))


def test_inline_break_runs_teardown() -> None:
    """Leaving the loop early tears the pipes down."""
    hooks = SyncHooks()
    for item in SyncStream(range(100)).through(hooks):
        if item == 2:
            break
    gc.collect()
    assert hooks.events == ["setup", "teardown"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_pipes_run_on_a_background_loop(backend: str) -> None:
    """Async pipes and stream stages run on a loop in another thread; results in order."""
    stream = SyncStream(range(500), backend=backend).through(Inc() >> StreamPipe() >> Double())
    assert list(stream) == [(x + 1) * 2 for x in range(500)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_background_loop_failure(backend: str) -> None:
    """A stage failing on the background loop raises StreamError in the caller."""
    with pytest.raises(StreamError, match="stage 'FailOn'"):
        list(SyncStream(range(10), backend=backend).through(Inc() >> FailOn([5])))


@pytest.mark.parametrize("backend", BACKENDS)
def test_background_loop_break_tears_down_and_stops_the_thread(backend: str) -> None:
    """`break` stops the background loop: teardown has run and its thread is gone."""
    hooks = Hooks()
    before = threading.active_count()
    for item in SyncStream(range(10_000), backend=backend).through(hooks):
        if item == 3:
            break
    gc.collect()
    assert hooks.events == ["setup", "teardown"]
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_background_loop_consumer_exception_propagates_unchanged(backend: str) -> None:
    """An exception in the loop body comes out as is, after teardown."""
    hooks = Hooks()
    with pytest.raises(KeyError, match="stop"):
        for _ in SyncStream(range(100), backend=backend).through(hooks):
            raise KeyError("stop")
    gc.collect()
    assert hooks.events == ["setup", "teardown"]


def test_plain_async_for_over_sync_stream_says_what_to_use() -> None:
    """SyncStream explains that it is for plain `for` loops."""
    with pytest.raises(TypeError, match=r"SyncStream is synchronous: use 'for'"):
        SyncStream([1]).__aiter__()


class _BadHooks(SyncHooks):
    """Sync identity whose setup or teardown raises."""

    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken = broken

    def setup(self) -> None:
        if self.broken == "setup":
            raise OSError("no db")
        super().setup()

    def teardown(self) -> None:
        super().teardown()
        if self.broken == "teardown":
            raise OSError("close failed")


def test_inline_setup_failure_is_a_stream_error_naming_the_pipe() -> None:
    """Without an event loop a failing setup gives a StreamError, as on the loop."""
    with pytest.raises(StreamError, match="stage '_BadHooks' failed: OSError: no db"):
        list(SyncStream([1]).through(_BadHooks("setup")))


def test_inline_teardown_failure_does_not_hide_the_stream_error() -> None:
    """A failing teardown is reported, but never replaces the stream's own failure."""
    with pytest.raises(StreamError, match="stage '_BadHooks' failed: OSError: close failed"):
        list(SyncStream([1]).through(_BadHooks("teardown")))
    with pytest.raises(StreamError, match="stage 'FailOn' failed: ValueError: bad item 1"):
        list(SyncStream([1]).through(_BadHooks("teardown") >> FailOn([1])))


def test_break_does_not_wait_for_a_blocked_source() -> None:
    """Leaving a loop whose source is blocked in its worker thread returns at once."""
    from rivusio.streams import BatchStreamPipe

    release = threading.Event()

    def blocking() -> Iterator[int]:
        yield 1
        release.wait(10)
        yield 2

    started = time.monotonic()
    try:
        for batch in SyncStream(blocking()).through(
            BatchStreamPipe[int, list[int]](5, max_wait=0.05)
        ):
            assert batch == [1]
            break
        assert time.monotonic() - started < 5
    finally:
        release.set()


def test_inline_source_failure_keeps_the_items_before_it() -> None:
    """Items a sync source gave before raising go through the pipes, then StreamError."""

    def broken() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("gone")

    seen: list[int] = []
    with pytest.raises(StreamError, match="stage 'source' failed: OSError: gone"):
        for item in SyncStream(broken()).through(Double()):
            seen.append(item)
    assert seen == [2, 4]
