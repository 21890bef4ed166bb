"""Runs of sync map steps go item by item, with the same results, errors and counts."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivusio import AsyncStream, DeadLetter, StreamError, SyncBasePipe, SyncStream
from rivusio.runtime._chain import SyncMapChain, chain_runs
from rivusio.runtime._plan import Plan, policy_of
from rivusio.runtime._stage import FusedStage
from rivusio.runtime._steps import apply_all_blocking

from ..helpers import Double, FailOn, Inc


class Record(SyncBasePipe[int, int]):
    """Identity that logs (name, item) into a shared list."""

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        super().__init__(name=name)
        self.log = log

    def process(self, data: int) -> int:
        self.log.append((self.name, data))
        return data


def test_runs_of_sync_maps_become_chains() -> None:
    """Two or more sync maps in a row form one chain; async steps split runs."""
    plan = Plan.build([(Double() >> Double() >> Inc() >> Double(), policy_of(None))], None)
    stage = plan.stages[0]
    assert isinstance(stage, FusedStage)
    kinds = [type(unit).__name__ for unit in chain_runs(stage.steps)]
    assert kinds == ["SyncMapChain", "Step", "Step"]


def test_items_go_through_the_chain_one_by_one() -> None:
    """Each item passes every pipe of the chain before the next item starts."""
    log: list[tuple[str, int]] = []
    assert list(SyncStream([1, 2]).through(Record("a", log) >> Record("b", log))) == [1, 2]
    assert log == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]


def test_failure_in_the_middle_names_the_pipe_and_its_input() -> None:
    """A failure at step 2 reports step 2's name and the value it received."""
    with pytest.raises(StreamError, match="stage 'FailOn' failed") as info:
        list(SyncStream(range(5)).through(Double() >> FailOn([6]) >> Double()))
    assert info.value.item == 6


async def test_handle_error_value_continues_through_the_rest_of_the_chain() -> None:
    """A replacement from handle_error goes through the steps after the failing one."""

    class Guarded(FailOn):
        def handle_error(self, error: Exception, data: int) -> int:
            return 100

    stream = AsyncStream(range(4)).through(Double() >> Guarded([2]) >> Double())
    assert [r async for r in stream] == [0, 200, 8, 12]


@given(
    items=st.lists(st.integers(0, 30), max_size=600),
    bad=st.lists(st.sets(st.integers(0, 30)), min_size=2, max_size=4),
    policy=st.sampled_from(["skip", "dead_letter"]),
)
def test_chain_accounting_under_random_failures(
    items: list[int], bad: list[set[int]], policy: Literal["skip", "dead_letter"]
) -> None:
    """emitted + skipped + dead-lettered == input, and each pipe's counts add up."""
    letters: list[DeadLetter] = []
    pipes = [FailOn(b, name=f"p{i}") for i, b in enumerate(bad)]
    outer = policy_of(None).under(policy, letters, None)
    plan = Plan.build([(pipe, outer) for pipe in pipes], None)
    (stage,) = plan.stages
    assert isinstance(stage, FusedStage)
    emitted = apply_all_blocking(stage.units, list(items))
    assert emitted == [x for x in items if not any(x in b for b in bad)]
    stats = [step.stats for step in stage.steps]
    lost = sum(s.skipped + s.dead_lettered for s in stats)
    assert len(emitted) + lost == len(items)
    assert len(letters) == (lost if policy == "dead_letter" else 0)
    for s in stats:
        assert s.items_in == s.items_out + s.skipped + s.dead_lettered


def test_chain_counts_per_pipe() -> None:
    """Each pipe's in/out counts what reached it and what it passed on."""
    first, second = (
        FailOn([1], name="first", on_error="skip"),
        FailOn([2], name="second", on_error="skip"),
    )
    plan = Plan.build([(first >> second, policy_of(None))], None)
    stage = plan.stages[0]
    assert isinstance(stage, FusedStage)
    (chain,) = stage.units
    assert isinstance(chain, SyncMapChain)
    assert chain.apply_blocking([0, 1, 2, 3]) == [0, 3]
    counts = [(s.stats.items_in, s.stats.items_out, s.stats.skipped) for s in stage.steps]
    assert counts == [(4, 3, 1), (3, 2, 1)]
