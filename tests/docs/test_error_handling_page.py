"""The examples of docs/how-to/error-handling.md, which includes them from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from rivusio import (
    AsyncBasePipe,
    AsyncStream,
    DeadLetter,
    RetryConfig,
    StreamConfig,
    StreamError,
    SyncBasePipe,
)
from rivusio.streams import StreamPipe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class ParseReading(SyncBasePipe[str, float]):
    """Parse a sensor reading; raises ValueError for text that is not a number."""

    def process(self, data: str) -> float:
        return float(data)


async def test_by_default_a_failure_stops_the_stream() -> None:
    """Under "raise", the outputs before the failing item arrive, then one StreamError."""
    received: list[float] = []
    with pytest.raises(StreamError) as caught:
        async for value in AsyncStream(["1.5", "2.5", "oops", "4.5"]).through(ParseReading()):
            received.append(value)

    assert received == [1.5, 2.5]
    error = caught.value
    assert str(error) == (
        "stage 'ParseReading' failed: ValueError: could not convert string to float: 'oops'"
    )
    assert (error.stage, error.item) == ("ParseReading", "oops")
    assert isinstance(error.__cause__, ValueError)


async def test_handle_error_replaces_the_failed_output() -> None:
    """What handle_error returns is emitted in place of the output that failed."""

    class ParseOrNaN(ParseReading):
        def handle_error(self, error: Exception, data: str) -> float:
            return float("nan")

    values = [v async for v in AsyncStream(["1.5", "oops", "4.5"]).through(ParseOrNaN())]

    assert str(values) == "[1.5, nan, 4.5]"


async def test_skip_drops_the_failed_item() -> None:
    """on_error="skip" drops each item that fails and goes on with the next."""
    stream = AsyncStream(["1.5", "oops", "4.5", "n/a"])

    values = [v async for v in stream.through(ParseReading(), on_error="skip")]

    assert values == [1.5, 4.5]


async def test_dead_letter_keeps_each_failed_item_with_its_error() -> None:
    """on_error="dead_letter" hands each failed item to a sink, as a DeadLetter record."""
    failed: list[DeadLetter] = []
    stream = AsyncStream(["1.5", "oops", "4.5"])

    values = [
        v async for v in stream.through(ParseReading(), on_error="dead_letter", dead_letter=failed)
    ]

    assert values == [1.5, 4.5]
    (letter,) = failed
    assert (letter.item, letter.stage) == ("oops", "ParseReading")
    assert repr(letter.error) == "ValueError(\"could not convert string to float: 'oops'\")"


async def test_dead_letters_can_go_to_a_function_or_a_channel() -> None:
    """A dead-letter sink may also be a function (sync or async) or an anyio send stream."""
    logged: list[str] = []

    def log(letter: DeadLetter) -> None:
        logged.append(f"{letter.stage}: {letter.item!r}: {letter.error}")

    send, receive = anyio.create_memory_object_stream[DeadLetter](100)
    with send, receive:
        to_log = AsyncStream(["1.5", "oops"]).through(
            ParseReading(), on_error="dead_letter", dead_letter=log
        )
        assert [v async for v in to_log] == [1.5]

        to_channel = AsyncStream(["n/a", "4.5"]).through(
            ParseReading(), on_error="dead_letter", dead_letter=send
        )
        assert [v async for v in to_channel] == [4.5]
        letter = receive.receive_nowait()

    assert logged == ["ParseReading: 'oops': could not convert string to float: 'oops'"]
    assert letter.item == "n/a"


async def test_retry_with_backoff() -> None:
    """A retried item is tried again after delay, then delay * backoff, and so on."""
    tries: list[float] = []

    class Lookup(AsyncBasePipe[str, str]):
        async def process(self, data: str) -> str:
            tries.append(anyio.current_time())
            if len(tries) < 3:
                raise TimeoutError("service busy")
            return data.upper()

    retry = RetryConfig(attempts=3, delay=0.5, backoff=2.0, retry_on=(TimeoutError,))
    values = [v async for v in AsyncStream(["abc"]).through(Lookup(retry=retry))]

    assert values == ["ABC"]
    assert tries == [0.0, 0.5, 1.5]


async def test_retries_then_handle_error_then_the_policy() -> None:
    """An item is retried first, then handle_error may replace it, then on_error applies."""
    calls: list[str] = []
    failed: list[DeadLetter] = []

    class Lookup(AsyncBasePipe[str, str]):
        async def process(self, data: str) -> str:
            calls.append(data)
            raise TimeoutError("service down")

        async def handle_error(self, error: Exception, data: str) -> str:
            if data == "cached":
                return "from cache"
            raise error

    lookup = Lookup(retry=RetryConfig(attempts=2), on_error="dead_letter", dead_letter=failed)
    values = [v async for v in AsyncStream(["cached", "new"]).through(lookup)]

    assert values == ["from cache"]
    assert calls == ["cached", "cached", "new", "new"]
    assert [(letter.item, str(letter.error)) for letter in failed] == [("new", "service down")]


async def test_the_innermost_setting_wins() -> None:
    """A pipe's own setting beats the one given to through(), which beats the stream's config."""
    failed: list[DeadLetter] = []
    config = StreamConfig(on_error="dead_letter", dead_letter=failed)
    readings = ["1", "x"]

    from_config = AsyncStream(readings, config).through(ParseReading())
    assert [v async for v in from_config] == [1.0]
    assert [letter.item for letter in failed] == ["x"]

    from_through = AsyncStream(readings, config).through(ParseReading(), on_error="skip")
    assert [v async for v in from_through] == [1.0]
    assert len(failed) == 1

    strict = ParseReading(on_error="raise")
    with pytest.raises(StreamError, match=r"^stage 'ParseReading' failed: ValueError"):
        async for _ in AsyncStream(readings, config).through(strict, on_error="skip"):
            pass


async def test_the_source_failing_is_a_stream_error_too() -> None:
    """An exception from the source stops the stream with a StreamError for stage "source"."""

    async def readings() -> AsyncIterator[str]:
        yield "1.5"
        raise ConnectionError("sensor gateway went away")

    received: list[float] = []
    with pytest.raises(StreamError) as caught:
        async for value in AsyncStream(readings()).through(ParseReading(), on_error="skip"):
            received.append(value)

    assert received == [1.5]
    assert str(caught.value) == (
        "stage 'source' failed: ConnectionError: sensor gateway went away"
    )


async def test_process_stream_errors_stop_the_stream() -> None:
    """An exception from a process_stream() stops the stream, whatever the error policy."""

    class Average(StreamPipe[float, float]):
        async def process_stream(self, stream: AsyncIterator[float]) -> AsyncIterator[float]:
            total, count = 0.0, 0
            async for value in stream:
                total, count = total + value, count + 1
            yield total / count

    with pytest.raises(StreamError, match=r"^stage 'Average' failed: ZeroDivisionError"):
        async for _ in AsyncStream([]).through(Average(), on_error="skip"):
            pass


async def test_simultaneous_failures_are_one_stream_error() -> None:
    """Failures in several stages at once give one StreamError, the others in .others."""

    class Close(StreamPipe[int, int]):
        async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
            async for item in stream:
                yield item
            raise OSError(f"{self.name}: could not flush")

    pipeline = Close(name="cache") >> Close(name="archive")
    with pytest.raises(StreamError) as caught:
        async for _ in AsyncStream([1]).through(pipeline):
            pass

    error = caught.value
    assert str(error) == (
        "stage 'cache' failed: OSError: cache: could not flush (and 1 more failure(s): 'archive')"
    )
    assert [other.stage for other in error.others] == ["archive"]
    assert str(error.others[0].__cause__) == "archive: could not flush"
