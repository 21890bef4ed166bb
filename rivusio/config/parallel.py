"""Settings for running a pipeline over many inputs at once (rivusio 0.2.0's API)."""

from enum import Enum
from typing import Any

import attrs

from rivusio.config import _checks
from rivusio.config._base import ConfigBase


class ExecutionStrategy(str, Enum):
    """How ``execute_parallel`` runs a pipeline over a list of inputs.

    The members equal their string values, so ``"thread_pool"`` and
    ``ExecutionStrategy.THREAD_POOL`` are interchangeable wherever a strategy is taken.

    Attributes:
        GATHER: Run the inputs concurrently as tasks on the event loop; for I/O-bound
            async pipes.
        THREAD_POOL: Run each input in a worker thread; for blocking I/O and light CPU
            work.
        PROCESS_POOL: Run chunks of inputs in worker processes; for CPU-bound work. The
            pipeline and the items must be picklable.
    """

    GATHER = "gather"
    THREAD_POOL = "thread_pool"
    PROCESS_POOL = "process_pool"


def _to_strategy(value: ExecutionStrategy | str) -> Any:
    if isinstance(value, ExecutionStrategy):
        return value
    try:
        return ExecutionStrategy(value)
    except ValueError:
        return value


@attrs.frozen
class ParallelConfig(ConfigBase):
    """How ``AsyncPipeline``/``SyncPipeline.execute_parallel`` spreads the work.

    ``configure_parallel(strategy, max_workers, chunk_size)`` builds one. As in 0.2.0
    (a dataclass there), the fields may also be given by position::

        ParallelConfig(ExecutionStrategy.THREAD_POOL, 8)

    Attributes:
        strategy: An :class:`ExecutionStrategy`; its string value is accepted too.
        max_workers: At most this many inputs run at once, ``>= 1``; ``None`` means no
            limit for ``GATHER`` and the pool's own default size for the pools (0.2.0's
            default).
        chunk_size: Inputs sent to a worker process at a time under ``PROCESS_POOL``,
            ``>= 1``.

    Raises:
        ConfigError: A value is of the wrong type or out of range; every bad field is
            listed.

    .. versionchanged:: 1.0
        An attrs class; ``max_workers`` defaults to 4 instead of a value computed from
        the CPU count.
    """

    strategy: ExecutionStrategy = attrs.field(
        default=ExecutionStrategy.GATHER,
        converter=_to_strategy,
        validator=_checks.enum_member(ExecutionStrategy),
        metadata={_checks.WRITE: lambda strategy: strategy.value},
    )
    max_workers: int | None = attrs.field(
        default=4, validator=_checks.integer(minimum=1, optional=True)
    )
    chunk_size: int = attrs.field(default=1000, validator=_checks.integer(minimum=1))
