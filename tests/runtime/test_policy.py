"""Error policies run without an event loop: a SyncStream of sync pipes, inline."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from anyio.abc import ObjectSendStream

from rivusio import DeadLetter, RetryConfig, StreamError, SyncBasePipe, SyncStream

from ..helpers import Double, FailOn, Inc

if TYPE_CHECKING:
    from collections.abc import Generator


class Flaky(SyncBasePipe[int, int]):
    """Fails the first *failures* calls, then returns its input."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    def process(self, data: int) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise ValueError(f"try {self.calls}")
        return data


def test_inline_retries_sleep_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline, a retried item waits with a blocking sleep of each backoff delay in turn."""
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)
    flaky = Flaky(failures=2)
    retry = RetryConfig(attempts=3, delay=0.5, backoff=2.0, jitter=0.0)
    assert list(SyncStream([7]).through(flaky, retry=retry)) == [7]
    assert (flaky.calls, delays) == (3, [0.5, 1.0])


def test_inline_dead_letters_go_to_a_memory_send_stream() -> None:
    """A memory object send stream is a dead-letter sink for an inline SyncStream too."""
    send, receive = anyio.create_memory_object_stream[DeadLetter](5)
    with send, receive:
        stream = SyncStream([1, 2, 3]).through(
            FailOn([2]), on_error="dead_letter", dead_letter=send
        )
        assert list(stream) == [1, 3]
        letter = receive.receive_nowait()
    assert (letter.item, letter.stage, str(letter.error)) == (2, "FailOn", "bad item 2")


class AwaitOnlyStream(ObjectSendStream[Any]):
    """A send stream with no ``send_nowait``: it can only be awaited."""

    async def send(self, item: Any) -> None:
        """Accept *item*."""

    async def aclose(self) -> None:
        """Close nothing."""


def test_inline_dead_letter_stream_that_must_be_awaited_is_refused() -> None:
    """Inline, a send stream without send_nowait cannot take dead letters: TypeError."""
    stream = SyncStream([1, 2, 3]).through(
        FailOn([2]), on_error="dead_letter", dead_letter=AwaitOnlyStream()
    )
    with pytest.raises(
        StreamError,
        match=r"stage 'FailOn': dead_letter stream AwaitOnlyStream cannot be sent to without an "
        r"event loop; use a list or a callable in a SyncStream",
    ):
        list(stream)


def test_inline_async_dead_letter_callable_is_refused_without_a_warning() -> None:
    """Inline, an async dead-letter callable is refused, and its coroutine is closed."""
    letters: list[DeadLetter] = []

    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    stream = SyncStream([1, 2, 3]).through(FailOn([2]), on_error="dead_letter", dead_letter=sink)
    with pytest.raises(
        StreamError,
        match=r"stage 'FailOn': the dead_letter callable is async, which a SyncStream running "
        r"without an event loop cannot await; pass a plain function or a list",
    ):
        list(stream)
    assert letters == []


class Pending:
    """An awaitable that is not a coroutine, like a future."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def test_inline_dead_letter_callable_returning_an_awaitable_is_refused() -> None:
    """Inline, a dead-letter callable that returns any awaitable is refused like an async one."""
    returned: list[Pending] = []

    def sink(letter: DeadLetter) -> Pending:
        returned.append(Pending())
        return returned[-1]

    stream = SyncStream([1, 2, 3]).through(FailOn([2]), on_error="dead_letter", dead_letter=sink)
    with pytest.raises(
        StreamError, match=r"failed: TypeError: stage 'FailOn': the dead_letter callable is async"
    ):
        list(stream)
    assert len(returned) == 1


@pytest.mark.parametrize("inline", [True, False])
def test_a_failing_dead_letter_sink_stops_the_stream_naming_the_pipe(inline: bool) -> None:
    """If the dead-letter sink raises, the stream fails with a StreamError for the pipe."""

    def broken_sink(letter: DeadLetter) -> None:
        raise OSError("sink down")

    pipe = FailOn([1], on_error="dead_letter", dead_letter=broken_sink)
    chain = pipe >> (Double() if inline else Inc())
    with pytest.raises(StreamError, match="stage 'FailOn' failed: OSError: sink down"):
        list(SyncStream(range(3)).through(chain))
