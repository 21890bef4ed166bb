"""rivusio: typed, composable streaming pipelines on structured concurrency.

The layers, from the bottom up:

- ``rivusio.core``: the vocabulary (pipes, ``>>`` pipelines, errors, records);
- ``rivusio.config``: validated settings;
- ``rivusio.runtime`` (private): plans, stages, links and the one runner;
- ``rivusio.streams``: stream stages (``StreamPipe``, batches, windows, operators);
- ``AsyncStream`` and ``SyncStream``: the fronts that run pipes over a source.
"""

from .aio import AsyncStream as AsyncStream
from .aio import StreamResults as StreamResults
from .config import BackpressureConfig as BackpressureConfig
from .config import ExecutionStrategy as ExecutionStrategy
from .config import ParallelConfig as ParallelConfig
from .config import PipeConfig as PipeConfig
from .config import RetryConfig as RetryConfig
from .config import StreamConfig as StreamConfig
from .core import AsyncBasePipe as AsyncBasePipe
from .core import AsyncPipeline as AsyncPipeline
from .core import BasePipe as BasePipe
from .core import ConfigError as ConfigError
from .core import DeadLetter as DeadLetter
from .core import Message as Message
from .core import MessageMetadata as MessageMetadata
from .core import PipeError as PipeError
from .core import PipelineError as PipelineError
from .core import StreamError as StreamError
from .core import SyncBasePipe as SyncBasePipe
from .core import SyncPipeline as SyncPipeline
from .core._types import BatchT as BatchT
from .core._types import InputType as InputType
from .core._types import OutputType as OutputType
from .core._types import T as T
from .plugins import PluginRegistry as PluginRegistry
from .plugins import register_async_sink as register_async_sink
from .plugins import register_async_source as register_async_source
from .plugins import register_sync_sink as register_sync_sink
from .plugins import register_sync_source as register_sync_source
from .sync import SyncStream as SyncStream

__all__ = (
    # pipes and composition
    "BasePipe",
    "AsyncBasePipe",
    "SyncBasePipe",
    "AsyncPipeline",
    "SyncPipeline",
    # running streams
    "AsyncStream",
    "SyncStream",
    "StreamResults",
    # configuration
    "StreamConfig",
    "PipeConfig",
    "BackpressureConfig",
    "RetryConfig",
    "ParallelConfig",
    "ExecutionStrategy",
    # errors and records
    "PipeError",
    "PipelineError",
    "StreamError",
    "ConfigError",
    "DeadLetter",
    "Message",
    "MessageMetadata",
    # plugins
    "PluginRegistry",
    "register_async_source",
    "register_async_sink",
    "register_sync_source",
    "register_sync_sink",
    # rivusio 0.2.0's type variables, kept so that its code imports unchanged
    "T",
    "BatchT",
    "InputType",
    "OutputType",
)

# Show `rivusio.AsyncStream` rather than `rivusio.aio.AsyncStream` in reprs and docs. Config
# classes keep their module: cattrs resolves their annotations there.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(("rivusio.core", "rivusio.aio", "rivusio.sync")):
        _obj.__module__ = "rivusio"
del _name, _obj
