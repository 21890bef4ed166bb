"""The examples of docs/how-to/migrating-from-0.2.md, which includes them from here.

Each "before" example is rivusio 0.2.0 code run on rivusio today, with what it does now;
the page says what 0.2.0 did with it. Each "after" example is the code to write instead.
"""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

import anyio
import attrs
import pytest

from rivusio import (
    AsyncBasePipe,
    AsyncPipeline,
    AsyncStream,
    ConfigError,
    ExecutionStrategy,
    Message,
    MessageMetadata,
    ParallelConfig,
    PipeConfig,
    PipelineError,
    StreamConfig,
    SyncBasePipe,
    SyncPipeline,
    SyncStream,
)
from rivusio.monitoring import PipelineMonitor

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Double(SyncBasePipe[int, int]):
    """Double a number."""

    def process(self, data: int) -> int:
        return data * 2


class Validate(SyncBasePipe[int, int]):
    """Refuse negative numbers."""

    def process(self, data: int) -> int:
        if data < 0:
            raise ValueError(f"negative: {data}")
        return data


# Imports ----------------------------------------------------------------------------------

MOVED = [
    ("rivusio.aio.pipeline", "AsyncPipeline", "rivusio"),
    ("rivusio.sync.pipeline", "SyncPipeline", "rivusio"),
    ("rivusio.sync.parallel", "ExecutionStrategy", "rivusio"),
    ("rivusio.core.base", "BasePipe", "rivusio"),
    ("rivusio.config.executor", "ParallelConfig", "rivusio"),
    ("rivusio.plugins.plugins", "PluginRegistry", "rivusio.plugins"),
]
"""0.2.0 import paths that no longer work, and the module to import the name from now."""


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_moved_imports(old: str, name: str, new: str) -> None:
    """Each name in the page's table is gone from its 0.2.0 module and found in the new one."""
    with pytest.raises((ImportError, AttributeError)):
        getattr(importlib.import_module(old), name)
    assert getattr(importlib.import_module(new), name) is not None


KEPT = [
    ("rivusio.aio", "AsyncBasePipe"),
    ("rivusio.aio", "AsyncPipeline"),
    ("rivusio.sync", "SyncBasePipe"),
    ("rivusio.sync", "SyncPipeline"),
    ("rivusio.core", "ExecutionStrategy"),
    ("rivusio.streams", "AsyncStream"),
    ("rivusio", "T"),
    ("rivusio", "BatchT"),
    ("rivusio", "InputType"),
    ("rivusio", "OutputType"),
]
"""Names 0.2.0 exported from its packages, importable from the same place."""


@pytest.mark.parametrize(("module", "name"), KEPT)
def test_package_level_names_still_import(module: str, name: str) -> None:
    """Each name 0.2.0 exported from a package is still there."""
    assert getattr(importlib.import_module(module), name) is not None


# Bounded get_pipe_outputs -----------------------------------------------------------------


def test_get_pipe_outputs_before() -> None:
    """0.2.0 code: after 1,000 calls, the last 100 outputs are kept (0.2.0 kept all 1,000)."""
    double = Double()
    pipeline: SyncPipeline[int, int] = SyncPipeline([double, Validate()])
    for number in range(1000):
        pipeline.process(number)

    outputs = pipeline.get_pipe_outputs(double)
    assert len(outputs) == 100
    assert outputs[-1] == 1998


def test_get_pipe_outputs_after() -> None:
    """keep_outputs chooses how many outputs each pipe keeps; None keeps them all."""
    double = Double()
    everything: SyncPipeline[int, int] = SyncPipeline([double, Validate()], keep_outputs=None)
    nothing: SyncPipeline[int, int] = SyncPipeline([double, Validate()], keep_outputs=0)
    for number in range(1000):
        everything.process(number)
        nothing.process(number)

    assert len(everything.get_pipe_outputs(double)) == 1000
    assert nothing.get_pipe_outputs(double) == []


def test_keep_outputs_is_checked() -> None:
    """A negative keep_outputs is refused when the pipeline is built."""
    with pytest.raises(
        ValueError,
        match=r"^SyncPipeline: keep_outputs must be an int >= 0, or None to keep every output "
        r"\(got -1\)$",
    ):
        SyncPipeline([Double()], keep_outputs=-1)


# Messages ----------------------------------------------------------------------------------


def test_message_ids_before() -> None:
    """0.2.0 code: two metadata objects now differ in id (0.2.0 gave both the same)."""
    first = MessageMetadata(source="sensor")
    second = MessageMetadata(source="sensor")

    assert first.message_id != second.message_id


def test_message_metadata_after() -> None:
    """A message gets fresh metadata of its own; headers carry what 0.2.0's tags= dropped."""
    first, second = Message(value=21.5), Message(value=21.5)
    assert isinstance(first.metadata, MessageMetadata)
    assert isinstance(second.metadata, MessageMetadata)
    assert first.metadata.message_id != second.metadata.message_id

    tagged = MessageMetadata(source="sensor_1", headers={"tags": ["temperature", "raw"]})
    assert tagged.headers["tags"] == ["temperature", "raw"]
    with pytest.raises(TypeError, match="tags"):
        MessageMetadata(source="sensor_1", tags=["temperature", "raw"])  # type: ignore[call-arg]


def test_message_as_data() -> None:
    """attrs.asdict and attrs.evolve stand in for pydantic's model_dump and model_copy."""
    message = Message(value={"temperature": 22.5}, metadata={"source": "sensor_1"})
    assert attrs.asdict(message) == {
        "value": {"temperature": 22.5},
        "metadata": {"source": "sensor_1"},
    }
    warmer = attrs.evolve(message, value={"temperature": 23.0})
    assert (warmer.value, warmer.metadata) == ({"temperature": 23.0}, {"source": "sensor_1"})


# retry_attempts=0 -------------------------------------------------------------------------


class CountCalls(SyncBasePipe[int, int]):
    """Count the calls of process."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def process(self, data: int) -> int:
        self.calls += 1
        return data


def test_retry_attempts_zero() -> None:
    """retry_attempts=0 tries each item once (0.2.0 failed every item without trying)."""
    pipe = CountCalls()
    stream = SyncStream([1, 2, 3], StreamConfig(retry_attempts=0))

    assert list(stream.process(pipe)) == [1, 2, 3]
    assert pipe.calls == 3


# Time windows ------------------------------------------------------------------------------


async def readings() -> AsyncIterator[str]:
    """Two readings at once, then a pause of almost a second before the third."""
    yield "a"
    await anyio.sleep(0.1)
    yield "b"
    await anyio.sleep(0.9)
    yield "c"


async def test_time_window_closes_on_its_timer() -> None:
    """The window closes at 0.3 s although the next item only comes at 1.0 s."""
    received = []
    async for window in AsyncStream(readings()).time_window(timedelta(seconds=0.3)):
        received.append((window, anyio.current_time()))

    assert received == [(["a", "b"], 0.3), (["c"], 1.0)]


# Sliding windows ---------------------------------------------------------------------------


async def test_sliding_windows_before() -> None:
    """0.2.0 code: the full windows are those 0.2.0 gave; 8 comes in none of them."""
    windows = [w async for w in AsyncStream(range(1, 9)).sliding_window(3, 2)]
    assert windows == [[1, 2, 3], [3, 4, 5], [5, 6, 7]]


async def test_sliding_windows_after() -> None:
    """emit_partial=True also emits the window still open at end of stream."""
    stream = AsyncStream(range(1, 9))
    windows = [w async for w in stream.sliding_window(3, 2, emit_partial=True)]
    assert windows == [[1, 2, 3], [3, 4, 5], [5, 6, 7], [7, 8]]


def test_step_larger_than_window() -> None:
    """A step larger than the window is refused (0.2.0 ignored it); say what you mean."""
    with pytest.raises(ConfigError, match="step_size: must be <= window_size"):
        SyncStream(range(1, 9)).sliding_window(2, 3)

    assert list(SyncStream(range(1, 9)).tumbling_window(2)) == [[1, 2], [3, 4], [5, 6], [7, 8]]


# Metrics ----------------------------------------------------------------------------------


async def test_metrics_are_recorded() -> None:
    """A monitor attached to a pipe gets the counts of its runs (0.2.0's stayed empty)."""
    monitor = PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(monitor)

    assert [x async for x in AsyncStream(range(3)).through(pipe)] == [0, 2, 4]

    metrics = monitor.get_metrics()
    assert metrics["items_processed"] == 3
    assert metrics["stages"]["Double"]["items_out"] == 3


async def test_metrics_dict_counts() -> None:
    """metrics_dict() holds the counts of the stream's last run (0.2.0's were empty)."""
    stream = AsyncStream(range(3))
    assert [x async for x in stream.process(Double())] == [0, 2, 4]

    assert stream.metrics_dict()["metrics"]["items_out"] == 3


# Configuration: pydantic to attrs --------------------------------------------------------


def test_pydantic_methods_before() -> None:
    """0.2.0 code: pydantic's methods and attribute assignment are gone."""
    config = StreamConfig(batch_size=10)
    with pytest.raises(AttributeError, match="model_dump"):
        config.model_dump()  # type: ignore[attr-defined]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.batch_size = 50  # type: ignore[misc]


def test_config_methods_after() -> None:
    """to_dict, from_dict and attrs.evolve; to_dict gives JSON-ready values."""
    config = StreamConfig(batch_size=10, window_size=timedelta(minutes=5))

    data = config.to_dict()
    assert data["window_size"] == 300.0
    assert StreamConfig.from_dict(json.loads(json.dumps(data))) == config

    bigger = attrs.evolve(config, batch_size=50)
    assert (bigger.batch_size, config.batch_size) == (50, 10)


def test_pipe_config_subclass_before() -> None:
    """0.2.0 code: a subclass with pydantic-style fields has no such keyword now."""

    class FilterConfig(PipeConfig):
        min_value: float = 100.0

    with pytest.raises(TypeError, match="unexpected keyword argument 'min_value'"):
        FilterConfig(min_value=150.0)  # type: ignore[call-arg]


@attrs.frozen(kw_only=True)
class FilterConfig(PipeConfig):
    """A pipe's settings: an attrs subclass of PipeConfig."""

    min_value: float = attrs.field(default=100.0, validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class LenientConfig(PipeConfig):
    """Keeps unknown keys, as every 0.2.0 PipeConfig did."""

    allow_extra: ClassVar[bool] = True


def test_pipe_config_subclass_after() -> None:
    """Declare the fields with attrs; unknown keys are an error unless allowed."""
    assert FilterConfig(min_value=150.0).min_value == 150.0
    assert FilterConfig.from_dict({"name": "filter", "min_value": 5}).min_value == 5.0
    with pytest.raises(ConfigError, match="colour: unknown key"):
        FilterConfig.from_dict({"min_value": 5, "colour": "red"})
    assert LenientConfig.from_dict({"colour": "red"}).extras == {"colour": "red"}


def test_validation_errors() -> None:
    """ConfigError is a ValueError, like pydantic's ValidationError, listing every problem."""
    with pytest.raises(ValueError) as caught:
        StreamConfig(batch_size=0, retry_attempts=-1)

    assert isinstance(caught.value, ConfigError)
    assert caught.value.problems == (
        "retry_attempts: must be >= 0 (got -1)",
        "batch_size: must be >= 1 (got 0)",
    )


# Errors ----------------------------------------------------------------------------------


def test_pipeline_error_before() -> None:
    """0.2.0 code: the message and .pipe changed; .error and __cause__ did not."""
    pipeline: SyncPipeline[int, int] = SyncPipeline([Double(), Validate()])
    with pytest.raises(PipelineError) as caught:
        pipeline.process(-1)

    error = caught.value
    assert str(error) == "stage 'Validate': ValueError: negative: -2"
    assert error.pipe != "Validate"
    assert f"{error.pipe}" == "Validate"
    assert str(error.error) == "negative: -2"


def test_pipeline_error_after() -> None:
    """Compare names with .stage (or .pipe.name); .pipe is the pipe itself."""
    validate = Validate()
    pipeline: SyncPipeline[int, int] = SyncPipeline([Double(), validate])
    with pytest.raises(PipelineError) as caught:
        pipeline.process(-1)

    assert caught.value.stage == "Validate"
    assert caught.value.pipe is validate
    assert isinstance(caught.value.__cause__, ValueError)


# Pipes --------------------------------------------------------------------------------------


class Threshold(SyncBasePipe[float, bool]):
    """A 0.2.0-style pipe whose own __init__ does not call super().__init__()."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def process(self, data: float) -> bool:
        return data > self.limit


def test_own_init_without_super() -> None:
    """Without super().__init__() the pipe still has its name and settings, in a stream too."""
    pipe = Threshold(2.5)
    assert pipe.name == "Threshold"
    assert list(SyncStream([1.0, 3.0]).through(pipe)) == [False, True]


# Parallel execution -----------------------------------------------------------------------


class Wait(AsyncBasePipe[int, int]):
    """Wait a second."""

    async def process(self, data: int) -> int:
        await anyio.sleep(1.0)
        return data


async def test_gather_honours_max_workers() -> None:
    """GATHER keeps to max_workers: 10 one-second items, 2 at a time, take 5 s (0.2.0: 1 s)."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Wait()])
    pipeline.configure_parallel(ExecutionStrategy.GATHER, max_workers=2)
    async with pipeline:
        assert await pipeline.execute_parallel(range(10)) == list(range(10))
    assert anyio.current_time() == 5.0


async def test_execute_parallel_without_configure() -> None:
    """Without configure_parallel, 'async with' and execute_parallel just work."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Wait()])
    async with pipeline:
        assert await pipeline.execute_parallel(range(8)) == list(range(8))
    assert anyio.current_time() == 2.0


def test_parallel_config_defaults() -> None:
    """ParallelConfig is a frozen attrs class; max_workers defaults to 4."""
    config = ParallelConfig(ExecutionStrategy.THREAD_POOL)
    assert (config.max_workers, config.chunk_size) == (4, 1000)
    assert ParallelConfig(ExecutionStrategy.THREAD_POOL, None).max_workers is None


def test_private_pipeline_attributes() -> None:
    """pipes replaces 0.2.0's _pipes, which is gone with _parallel_config and friends."""
    double = Double()
    pipeline: SyncPipeline[int, int] = SyncPipeline([double])
    assert pipeline.pipes == [double]
    assert not hasattr(pipeline, "_pipes")
