"""The examples of docs/reference/operators.md, which includes them from here."""

from __future__ import annotations

import attrs

from rivusio import AsyncStream, SyncBasePipe
from rivusio.streams import (
    StreamPipe,
    distinct,
    filter,
    group_by,
    key_by,
    map,
    merge,
    reduce,
    take,
    tee,
    throttle,
)
from rivusio.testing import ScriptedSource, collect_timed


@attrs.frozen
class Order:
    """An order event."""

    id: int
    customer: str
    amount: float


class Parse(SyncBasePipe[str, Order]):
    """Parse ``"id,customer,amount"`` lines."""

    def process(self, data: str) -> Order:
        id_, customer, amount = data.split(",")
        return Order(int(id_), customer, float(amount))


LINES = ["1,ann,9.5", "2,bob,0", "1,ann,9.5", "3,ann,20", "4,cid,5", "5,bob,7"]


async def test_operators_compose_with_pipes() -> None:
    """Operators and pipes chain with ``>>``; per-item ones fuse into one stage."""
    pipeline = (
        Parse()
        >> distinct(lambda order: order.id)
        >> filter(lambda order: order.amount > 0)
        >> map(lambda order: order.amount)
        >> take(3)
    )

    amounts = [amount async for amount in AsyncStream(LINES).through(pipeline)]

    assert amounts == [9.5, 20.0, 5.0]


async def test_totals_per_customer() -> None:
    """``group_by`` runs a fresh ``reduce`` per customer; each emits at end of stream."""

    def total_of(customer: str) -> StreamPipe[Order, tuple[str, float]]:
        return reduce(lambda acc, order: (customer, acc[1] + order.amount), (customer, 0.0))

    stream = AsyncStream(LINES).through(
        Parse() >> group_by(lambda order: order.customer, total_of)
    )

    assert sorted([total async for total in stream]) == [
        ("ann", 39.0),
        ("bob", 7.0),
        ("cid", 5.0),
    ]


async def test_fan_in_fan_out_and_time() -> None:
    """Merge a second source in, keep a copy of every item, and pace the output."""
    audit: list[str] = []
    late_orders = ScriptedSource([(0.5, "6,dee,3"), (1.0, "7,eve,4")])

    stream = AsyncStream(LINES[:2]).through(
        merge(late_orders) >> tee(audit) >> throttle(2, per=1.0, burst=1)
    )
    timed = await collect_timed(stream)

    assert [(seconds, line[0]) for seconds, line in timed] == [
        (0.0, "1"),
        (0.5, "2"),
        (1.0, "6"),
        (1.5, "7"),
    ]
    assert sorted(audit) == sorted(line for _, line in timed)


async def test_type_of_an_operator_at_the_start_of_a_chain() -> None:
    """An operator that takes no typed function learns its item type from its place."""
    first_two: StreamPipe[str, str] = take(2)
    pairs = first_two >> key_by(len)

    assert [pair async for pair in AsyncStream(["a", "bb", "ccc"]).through(pairs)] == [
        (1, "a"),
        (2, "bb"),
    ]
