"""A job for ``rivusio run``: parse orders, convert them to euros, keep the large ones.

Run it from this directory (see ``docs/how-to/monitoring.md`` and ``docs/reference/cli.md``)::

    rivusio run orders:pipeline --input orders.jsonl --output large.jsonl --on-error skip
"""

from __future__ import annotations

from typing import Any

import anyio

from rivusio import AsyncBasePipe, SyncBasePipe
from rivusio.streams import StreamPipe

RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}
"""Euros per unit of each currency."""


class Parse(SyncBasePipe[dict[str, Any], dict[str, Any]]):
    """Check an order record and turn its amount into a number."""

    def process(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return the order with ``amount`` as a float; raise ``ValueError`` if it is bad."""
        amount = float(data["amount"])
        if data["currency"] not in RATES:
            raise ValueError(f"unknown currency {data['currency']!r}")
        return {**data, "amount": amount}


class ToEuro(AsyncBasePipe[dict[str, Any], dict[str, Any]]):
    """Convert the amount to euros (waiting 5 ms, as a call to a rates service would)."""

    async def process(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return the order with ``eur``, the amount in euros."""
        await anyio.sleep(0.005)
        return {**data, "eur": round(data["amount"] * RATES[data["currency"]], 2)}


class Large(StreamPipe[dict[str, Any], dict[str, Any]]):
    """Keep the orders of 100 euros or more (a stage with its own input buffer)."""

    async def process_stream(self, stream: Any) -> Any:
        """Yield the large orders."""
        async for order in stream:
            if order["eur"] >= 100:
                yield order


pipeline = Parse() >> ToEuro() >> Large()
