"""Small pipes and sources shared by the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from rivusio import AsyncBasePipe, SyncBasePipe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable


class Double(SyncBasePipe[int, int]):
    """Sync: x * 2."""

    def process(self, data: int) -> int:
        return data * 2


class Inc(AsyncBasePipe[int, int]):
    """Async: x + 1."""

    async def process(self, data: int) -> int:
        return data + 1


class FailOn(SyncBasePipe[int, int]):
    """Sync: raises ValueError for the given values, else passes the value through."""

    def __init__(self, bad: Iterable[int], **settings: Any) -> None:
        super().__init__(**settings)
        self.bad = set(bad)

    def process(self, data: int) -> int:
        if data in self.bad:
            raise ValueError(f"bad item {data}")
        return data


class Hooks(AsyncBasePipe[int, int]):
    """Async identity that records setup/teardown calls in ``events``."""

    def __init__(self, name: str = "Hooks") -> None:
        super().__init__(name=name)
        self.events: list[str] = []

    async def setup(self) -> None:
        self.events.append("setup")

    async def teardown(self) -> None:
        self.events.append("teardown")

    async def process(self, data: int) -> int:
        return data


async def aiter_of(items: Iterable[Any], delay: float = 0.0) -> AsyncIterator[Any]:
    """Yield *items*, sleeping *delay* seconds after each."""
    for item in items:
        yield item
        if delay:
            await anyio.sleep(delay)
