"""Show rivusio's log records with the stage that wrote them.

rivusio logs to the ``rivusio`` logger, with the stage's name in ``record.stage``; this
script puts ``%(stage)s`` in a handler's format and runs a stream in which one item is
skipped. Run it on either backend::

    python examples/exporters/log_stages.py          # asyncio
    python examples/exporters/log_stages.py trio
"""

from __future__ import annotations

import logging
import sys

import anyio

from rivusio import AsyncStream, SyncBasePipe

handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("%(levelname)s [%(stage)s] %(message)s"))
logging.getLogger("rivusio").addHandler(handler)
logging.getLogger("rivusio").setLevel(logging.WARNING)


class Parse(SyncBasePipe[dict[str, str], float]):
    """Read an amount; refuse one that is not a number."""

    def process(self, data: dict[str, str]) -> float:
        """Return the amount as a float."""
        return float(data["amount"])


async def main() -> None:
    """Run three records, one of them bad, and print the results."""
    records = [{"amount": "2.50"}, {"amount": "bad"}, {"amount": "4"}]
    async for amount in AsyncStream(records).through(Parse(name="parse", on_error="skip")):
        print(amount)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
