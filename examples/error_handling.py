"""The guide's "Stream with Error Handling" example: ``handle_error`` replaces a failed item.

``SafeDivisionPipe`` is the guide's class, as written. Its ``process`` raises
``PipeError("Division by zero: ...")`` for the record with a zero in it; the stream then
calls its ``handle_error``, and the value that returns is emitted in place of the failed
output, so the stream goes on. Run it on either backend::

    python examples/error_handling.py          # asyncio
    python examples/error_handling.py trio
"""

# The class below is copied from the user guide unchanged, so these rules (modern spelling
# of typing.Dict, type arguments on it, chaining and conversions in the raise) are not
# applied to it.
# ruff: noqa: B904, RUF010, UP006, UP035
# mypy: disable-error-code="type-arg"

from __future__ import annotations

import sys
from typing import AsyncIterator, Dict

import anyio

from rivusio import AsyncBasePipe, AsyncStream, PipeError


class SafeDivisionPipe(AsyncBasePipe[Dict, Dict]):
    async def process(self, data: Dict) -> Dict:
        try:
            return {k: 100 / v for k, v in data.items()}
        except ZeroDivisionError as e:
            raise PipeError(f"Division by zero: {str(e)}")

    async def handle_error(self, error: Exception, data: Dict) -> Dict:
        print(f"Error processing {data}: {error}")
        return {"error": str(error)}


async def data_with_errors() -> AsyncIterator[Dict]:
    """Yield three records, 0.1 s apart; the second has a zero in it."""
    data = [
        {"a": 2, "b": 4},
        {"a": 0, "b": 1},  # Will cause error
        {"a": 5, "b": 10},
    ]
    for item in data:
        yield item
        await anyio.sleep(0.1)


async def main() -> None:
    """Divide 100 by every value and print each result, the replacement included."""
    stream = AsyncStream(data_with_errors())
    pipe = SafeDivisionPipe()

    async for result in stream.through(pipe):
        print(f"Result: {result}")


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
