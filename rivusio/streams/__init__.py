"""Stream stages: pipes that run as tasks of their own with bounded input buffers."""

from ..config import BackpressureConfig as BackpressureConfig
from ..core.exceptions import StreamError as StreamError
from ._pipe import StreamPipe as StreamPipe
from ._pipe import StreamPipeline as StreamPipeline

__all__ = (
    "BackpressureConfig",
    "StreamError",
    "StreamPipe",
    "StreamPipeline",
)
