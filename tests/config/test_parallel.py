"""ParallelConfig and ExecutionStrategy, as rivusio 0.2.0 spelled them."""

from __future__ import annotations

from typing import Any

import pytest

from rivusio.config import ExecutionStrategy, ParallelConfig
from rivusio.core.exceptions import ConfigError


def test_strategy_values() -> None:
    """The members and values are 0.2.0's, and members equal their values."""
    assert [(s.name, s.value) for s in ExecutionStrategy] == [
        ("GATHER", "gather"),
        ("THREAD_POOL", "thread_pool"),
        ("PROCESS_POOL", "process_pool"),
    ]
    assert isinstance(ExecutionStrategy.THREAD_POOL, str)
    assert {"thread_pool": 1}[ExecutionStrategy.THREAD_POOL] == 1
    assert ExecutionStrategy("process_pool") is ExecutionStrategy.PROCESS_POOL


def test_defaults() -> None:
    """The default is gather with four workers and chunks of 1000."""
    config = ParallelConfig()
    assert config.strategy is ExecutionStrategy.GATHER
    assert config.max_workers == 4
    assert config.chunk_size == 1000


def test_positional_and_keyword_construction() -> None:
    """Fields may be given by position (0.2.0 was a dataclass) or by keyword."""
    assert ParallelConfig(ExecutionStrategy.THREAD_POOL, 8, 10) == ParallelConfig(
        strategy=ExecutionStrategy.THREAD_POOL, max_workers=8, chunk_size=10
    )


def test_strategy_by_value() -> None:
    """A strategy's string value is accepted and stored as the member."""
    assert ParallelConfig(strategy="process_pool").strategy is ExecutionStrategy.PROCESS_POOL


def test_max_workers_none() -> None:
    """max_workers=None (0.2.0's configure_parallel default) is accepted."""
    assert ParallelConfig(max_workers=None).max_workers is None


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        (
            {"strategy": "threads"},
            (
                "strategy: must be one of 'gather', 'thread_pool', 'process_pool' "
                "(got 'threads'); did you mean 'thread_pool'?"
            ),
        ),
        (
            {"strategy": 1},
            "strategy: must be one of 'gather', 'thread_pool', 'process_pool' (got 1)",
        ),
        ({"max_workers": 0}, "max_workers: must be >= 1 (got 0)"),
        ({"max_workers": "4"}, "max_workers: must be an integer or None (got '4')"),
        ({"chunk_size": 0}, "chunk_size: must be >= 1 (got 0)"),
    ],
)
def test_bad_values(kwargs: dict[str, Any], problem: str) -> None:
    """Each bad value is named."""
    with pytest.raises(ConfigError) as caught:
        ParallelConfig(**kwargs)
    assert caught.value.problems == (problem,)


def test_round_trip() -> None:
    """to_dict writes the strategy's value; from_dict reads it back."""
    config = ParallelConfig(ExecutionStrategy.PROCESS_POOL, None, 50)
    assert config.to_dict() == {"strategy": "process_pool", "max_workers": None, "chunk_size": 50}
    assert type(config.to_dict()["strategy"]) is str
    assert ParallelConfig.from_dict(config.to_dict()) == config
