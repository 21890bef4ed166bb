"""Stream stages: pipes that run as tasks of their own with bounded input buffers."""

from ..config import BackpressureConfig as BackpressureConfig
from ..core.exceptions import StreamError as StreamError
from ._batch import BatchStreamPipe as BatchStreamPipe
from ._pipe import StreamPipe as StreamPipe
from ._pipe import StreamPipeline as StreamPipeline
from ._window import WindowedStreamPipe as WindowedStreamPipe
from ._window import WindowResult as WindowResult

__all__ = (
    "BackpressureConfig",
    "StreamError",
    "StreamPipe",
    "StreamPipeline",
    "BatchStreamPipe",
    "WindowedStreamPipe",
    "WindowResult",
)
