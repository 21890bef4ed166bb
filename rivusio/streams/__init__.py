"""Stream stages: pipes that run as tasks of their own with bounded input buffers.

Operators (``map``, ``filter``, ``take``, ``merge``, ...) are functions that return such
pipes; compose them with ``>>`` or pass them to ``AsyncStream.through``.
"""

from ..aio import AsyncStream as AsyncStream
from ..config import BackpressureConfig as BackpressureConfig
from ..core.exceptions import StreamError as StreamError
from ._batch import BatchStreamPipe as BatchStreamPipe
from ._operators import branch as branch
from ._operators import broadcast as broadcast
from ._operators import buffer as buffer
from ._operators import debounce as debounce
from ._operators import delay as delay
from ._operators import distinct as distinct
from ._operators import filter as filter
from ._operators import flat_map as flat_map
from ._operators import group_by as group_by
from ._operators import key_by as key_by
from ._operators import map as map
from ._operators import merge as merge
from ._operators import partition as partition
from ._operators import rate_limit as rate_limit
from ._operators import reduce as reduce
from ._operators import scan as scan
from ._operators import skip as skip
from ._operators import skip_while as skip_while
from ._operators import take as take
from ._operators import take_while as take_while
from ._operators import tee as tee
from ._operators import throttle as throttle
from ._operators import zip as zip
from ._operators import zip_latest as zip_latest
from ._pipe import StreamPipe as StreamPipe
from ._pipe import StreamPipeline as StreamPipeline
from ._window import WindowedStreamPipe as WindowedStreamPipe
from ._window import WindowResult as WindowResult

__all__ = (
    "AsyncStream",  # also here, as in rivusio 0.2.0
    "BackpressureConfig",
    "StreamError",
    "StreamPipe",
    "StreamPipeline",
    "BatchStreamPipe",
    "WindowedStreamPipe",
    "WindowResult",
    # operators: transform
    "map",
    "flat_map",
    "scan",
    "key_by",
    # filter
    "filter",
    "distinct",
    "take",
    "take_while",
    "skip",
    "skip_while",
    # aggregate
    "reduce",
    # combine
    "merge",
    "zip",
    "zip_latest",
    # fan-out
    "broadcast",
    "tee",
    "branch",
    "partition",
    "group_by",
    # time
    "throttle",
    "rate_limit",
    "debounce",
    "delay",
    "buffer",
)
