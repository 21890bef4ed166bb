"""Validated settings: frozen attrs classes, loaded from dicts and TOML, dumped to dicts.

Every class checks its values when constructed and raises
:class:`~rivusio.core.exceptions.ConfigError` listing every bad field as
``path: problem (got value)``. ``X.from_dict(d)`` and ``X.from_toml(path, table=...)``
report unknown and missing keys too, at any depth; ``x.to_dict()`` returns plain values
that ``from_dict`` reads back to an equal config.

- :class:`StreamConfig`: stream-wide settings (error policy, retries, buffers, and the
  rivusio 0.2.0 options);
- :class:`BackpressureConfig`: a stage's input buffer and overflow policy;
- :class:`RetryConfig`: retries with backoff and jitter;
- :class:`PipeConfig`: the base for a pipe's own settings;
- :class:`ParallelConfig` and :class:`ExecutionStrategy`: ``execute_parallel`` (0.2.0).
"""

from .backpressure import BackpressureConfig as BackpressureConfig
from .backpressure import OverflowPolicy as OverflowPolicy
from .parallel import ExecutionStrategy as ExecutionStrategy
from .parallel import ParallelConfig as ParallelConfig
from .pipe import PipeConfig as PipeConfig
from .retry import RetryConfig as RetryConfig
from .stream import StreamConfig as StreamConfig

__all__ = (
    "StreamConfig",
    "BackpressureConfig",
    "OverflowPolicy",
    "RetryConfig",
    "PipeConfig",
    "ParallelConfig",
    "ExecutionStrategy",
)
