"""The first-pipeline tutorial as one script: write pipes, chain them with ``>>``, run them.

Run it on either backend::

    python examples/first_pipeline.py          # asyncio
    python examples/first_pipeline.py trio
"""

from __future__ import annotations

import sys

import anyio
import attrs

from rivusio import AsyncBasePipe, AsyncStream, SyncBasePipe, SyncStream


class Parse(SyncBasePipe[str, float]):
    """Turn a line of text into a number."""

    def process(self, data: str) -> float:
        """Parse *data* as a float."""
        return float(data)


class Scale(SyncBasePipe[float, float]):
    """Multiply by a factor: a plain subclass with its own ``__init__``."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def process(self, data: float) -> float:
        """Return *data* times the factor."""
        return data * self.factor


@attrs.define
class Offset(SyncBasePipe[float, float]):
    """Add an offset: an attrs class that declares its settings as fields."""

    offset: float

    def process(self, data: float) -> float:
        """Return *data* plus the offset."""
        return data + self.offset


class Describe(AsyncBasePipe[float, str]):
    """Describe a temperature; async, like a pipe that looks something up would be."""

    async def process(self, data: float) -> str:
        """Return a line of text about the temperature *data* in degrees Fahrenheit."""
        # An async pipe may await here: a database query, a call to a web service.
        return f"{data:.1f} F" + (" (freezing)" if data <= 32 else "")


def call_pipes_on_one_value() -> None:
    """Run pipes, and a pipeline of them, on single values."""
    print(Parse()("21.5"))
    print(Scale(1.8)(10.0))
    print(Offset(32.0)(10.0), repr(Offset(32.0)))

    to_fahrenheit = Parse() >> Scale(1.8) >> Offset(32.0)
    print(to_fahrenheit("100"))
    print([pipe.name for pipe in to_fahrenheit.pipes])


async def run_over_an_async_stream() -> None:
    """Run a chain of sync and async pipes over a stream of lines, on the event loop."""
    pipeline = Parse() >> Scale(1.8) >> Offset(32.0) >> Describe()
    async for line in AsyncStream(["-40", "0", "100"]).through(pipeline):
        print(line)


def run_over_a_sync_stream() -> None:
    """Run sync pipes over a stream of lines in a plain ``for`` loop, with no event loop."""
    to_fahrenheit = Parse() >> Scale(1.8) >> Offset(32.0)
    for value in SyncStream(["-40", "0", "100"]).through(to_fahrenheit):
        print(value)


async def main() -> None:
    """Run each part of the tutorial in turn."""
    call_pipes_on_one_value()
    print(await Describe()(50.0))
    await run_over_an_async_stream()
    run_over_a_sync_stream()


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
