"""Type-checked, never run: what mypy infers for `>>` and the fronts.

Lines marked `# type: ignore[...]` must fail to type-check; `warn_unused_ignores` makes the
check fail if they ever start passing.
"""

from __future__ import annotations

from typing_extensions import assert_type

from rivusio import (
    AsyncBasePipe,
    AsyncPipeline,
    AsyncStream,
    SyncBasePipe,
    SyncPipeline,
    SyncStream,
)
from rivusio.streams import StreamPipe, StreamPipeline, filter, map, take


class Parse(SyncBasePipe[str, int]):
    def process(self, data: str) -> int:
        return int(data)


class Half(SyncBasePipe[int, float]):
    def process(self, data: int) -> float:
        return data / 2


class Fetch(AsyncBasePipe[int, bytes]):
    async def process(self, data: int) -> bytes:
        return bytes(data)


class Window(StreamPipe[float, list[float]]):
    pass


class Decode(SyncBasePipe[bytes, str]):
    def process(self, data: bytes) -> str:
        return data.decode()


class Store(AsyncBasePipe[bytes, int]):
    async def process(self, data: bytes) -> int:
        return len(data)


class Total(SyncBasePipe[list[float], float]):
    def process(self, data: list[float]) -> float:
        return sum(data)


class Upload(AsyncBasePipe[list[float], bool]):
    async def process(self, data: list[float]) -> bool:
        return bool(data)


class Round(SyncBasePipe[float, int]):
    def process(self, data: float) -> int:
        return round(data)


assert_type(Parse() >> Half(), SyncPipeline[str, float])
assert_type(Parse() >> Fetch(), AsyncPipeline[str, bytes])
assert_type(Parse() >> Half() >> Window(), StreamPipeline[str, list[float]])
assert_type(Window() >> Window(), StreamPipeline[float, list[float]])  # type: ignore[operator]
assert_type(Fetch() >> Parse(), AsyncPipeline[int, int])  # type: ignore[operator]
Half() >> Parse()  # type: ignore[operator]

assert_type(Fetch() >> Decode(), AsyncPipeline[int, str])
assert_type(Fetch() >> Store(), AsyncPipeline[int, int])
assert_type(Window() >> Total(), StreamPipeline[float, float])
assert_type(Window() >> Upload(), StreamPipeline[float, bool])
assert_type((Parse() >> Half()) >> (Round() >> Half()), SyncPipeline[str, float])
assert_type((Parse() >> Half()) >> (Round() >> Fetch()), AsyncPipeline[str, bytes])
assert_type((Parse() >> Fetch()) >> (Decode() >> Parse()), AsyncPipeline[str, int])
assert_type((Parse() >> Half()) >> (Window() >> Total()), StreamPipeline[str, float])
assert_type(Parse() >> take(3), StreamPipeline[str, int])
assert_type(Parse() >> map(str) >> filter(str.isdigit), StreamPipeline[str, str])
Parse() >> map(str.upper)  # type: ignore[arg-type]


async def fronts() -> None:
    stream = AsyncStream(["1", "2"]).through(Parse() >> Half())
    assert_type(stream, AsyncStream[float])
    async for value in stream:
        assert_type(value, float)
    for total in SyncStream(["1"]).through(Parse()):
        assert_type(total, int)
    AsyncStream([1]).through(Parse())  # type: ignore[arg-type]
    assert_type(AsyncStream(["1"]).through(map(int)), AsyncStream[int])
    assert_type(AsyncStream(["1"]).through(Parse() >> take(3)), AsyncStream[int])
