"""The vocabulary: pipes, pipelines, errors, messages and records."""

# rivusio 0.2.0 exported ExecutionStrategy from here; it lives with the other settings now.
from ..config import ExecutionStrategy as ExecutionStrategy
from .exceptions import ConfigError as ConfigError
from .exceptions import PipeError as PipeError
from .exceptions import PipelineError as PipelineError
from .exceptions import StreamError as StreamError
from .message import Message as Message
from .message import MessageMetadata as MessageMetadata
from .pipeline import AsyncPipeline as AsyncPipeline
from .pipeline import SyncPipeline as SyncPipeline
from .pipes import AsyncBasePipe as AsyncBasePipe
from .pipes import BasePipe as BasePipe
from .pipes import SyncBasePipe as SyncBasePipe
from .records import DeadLetter as DeadLetter

__all__ = (
    "AsyncBasePipe",
    "AsyncPipeline",
    "BasePipe",
    "ConfigError",
    "DeadLetter",
    "ExecutionStrategy",
    "Message",
    "MessageMetadata",
    "PipeError",
    "PipelineError",
    "StreamError",
    "SyncBasePipe",
    "SyncPipeline",
)
