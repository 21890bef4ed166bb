"""The guide's "Basic Streaming" example: a ``StreamPipe`` run with ``pipe.stream(source)``.

``MyStreamPipe`` is the guide's class, as written. Run it on either backend::

    python examples/stream_pipe.py          # asyncio
    python examples/stream_pipe.py trio
"""

# The class below is copied from the user guide unchanged, so these rules (modern spellings
# of typing.Dict, type arguments on it) are not applied to it.
# ruff: noqa: UP006, UP035
# mypy: disable-error-code="type-arg"

from __future__ import annotations

import sys
from typing import AsyncIterator, Dict

import anyio

from rivusio.streams import StreamPipe


class MyStreamPipe(StreamPipe[Dict, Dict]):
    async def process_stream(self, stream: AsyncIterator[Dict]) -> AsyncIterator[Dict]:
        async for item in stream:
            yield await self.process_item(item)

    async def process_item(self, item: Dict) -> Dict:
        return {"processed": item}


source_data = [{"id": 1, "value": 10}, {"id": 2, "value": 20}, {"id": 3, "value": 30}]


async def main() -> None:
    """Run ``MyStreamPipe`` over three records and print what comes out."""
    # Use the stream pipe
    pipe = MyStreamPipe()
    async for result in pipe.stream(source_data):
        print(result)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
