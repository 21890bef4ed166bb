"""rivusio 0.2.0's public API, used the way 0.2.0's own docs, examples and tests use it.

Each test names the 0.2.0 page or file whose code it runs. Where that code reached into
pydantic (``PipeConfig`` subclasses with pydantic fields), the attrs spelling from the
migration guide stands in. The stream fronts' 0.2.0 methods (``AsyncStream.process``, the
window helpers) and the monitoring classes have compatibility tests of their own.
"""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import pytest

from rivusio import (
    AsyncBasePipe,
    AsyncPipeline,
    ExecutionStrategy,
    ParallelConfig,
    PipeConfig,
    StreamConfig,
    SyncBasePipe,
    SyncPipeline,
)
from rivusio.config import ParallelConfig as ConfigParallelConfig
from rivusio.core.exceptions import PipeError, PipelineError
from rivusio.core.message import Message, MessageMetadata
from rivusio.plugins import (
    PluginRegistry,
    register_async_sink,
    register_async_source,
    register_sync_sink,
    register_sync_source,
    registry,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def _clear_plugin_registry() -> Iterator[None]:
    """Empty the registry for each test, as 0.2.0's conftest did, and restore it after."""
    saved = registry.list_plugins()
    plugins = PluginRegistry()
    plugins._async_sources.clear()
    plugins._async_sinks.clear()
    plugins._sync_sources.clear()
    plugins._sync_sinks.clear()
    yield
    registry.clear()
    for info in saved:
        registry.register(info.kind, info.name)(info.cls)


# Pipes from 0.2.0's tests (tests/aio/test_pipeline.py, tests/sync/test_pipeline.py) -----------


class AsyncMultiplyByTwo(AsyncBasePipe[int, int]):
    """Async pipe that multiplies input by 2."""

    async def process(self, data: int) -> int:
        return data * 2


class AsyncAddOne(AsyncBasePipe[int, int]):
    """Async pipe that adds 1 to input."""

    async def process(self, data: int) -> int:
        return data + 1


class CPUIntensivePipe(AsyncBasePipe[int, int]):
    """Pipe that performs CPU-intensive operations."""

    async def process(self, data: int) -> int:
        result = data
        for _ in range(1000):
            result = (result * 17 + 23) % 1000
        return result


class IOIntensivePipe(AsyncBasePipe[int, int]):
    """Pipe that performs I/O-intensive operations."""

    async def process(self, data: int) -> int:
        await anyio.sleep(0.1)
        return data * 2


class ParallelErrorPipe(AsyncBasePipe[int, int]):
    """Fails on 2, as in test_pipeline_parallel_execution_error."""

    async def process(self, data: int) -> int:
        if data == 2:
            raise ValueError("Error processing 2")
        return data * 2


class SyncMultiplyByTwo(SyncBasePipe[int, int]):
    """Sync pipe that multiplies input by 2."""

    def process(self, data: int) -> int:
        return data * 2


class AddPipe(SyncBasePipe[int, int]):
    """Sync pipe that adds 1 to input."""

    def process(self, data: int) -> int:
        return data + 1


# examples/async_pipeline_demo.py ------------------------------------------------------------


@dataclass
class UserData:
    """Data class representing user information."""

    id: int
    name: str
    score: float


class AsyncScoreFilterPipe(AsyncBasePipe[UserData, UserData]):
    """Asynchronous pipe that filters users based on score."""

    def __init__(self, min_score: float) -> None:
        super().__init__()
        self.min_score = min_score

    async def process(self, data: UserData) -> UserData:
        if data.score < self.min_score:
            raise ValueError(f"Score {data.score} below minimum {self.min_score}")
        return data


class UserEnrichmentPipe(AsyncBasePipe[UserData, dict[str, Any]]):
    """Asynchronous pipe that enriches user data (0.2.0 slept with asyncio.sleep)."""

    async def process(self, data: UserData) -> dict[str, Any]:
        await anyio.sleep(0.1)
        return {
            "id": data.id,
            "name": data.name,
            "score": data.score,
            "rank": "premium" if data.score > 90 else "standard",
        }


class AsyncioEnrichmentPipe(AsyncBasePipe[UserData, dict[str, Any]]):
    """The demo's enrichment pipe verbatim: asyncio-only code, for asyncio users."""

    async def process(self, data: UserData) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"id": data.id, "name": data.name, "score": data.score}


class AsyncStatsPipe(AsyncBasePipe[dict[str, Any], dict[str, Any]]):
    """Asynchronous pipe that adds statistical information."""

    async def process(self, data: dict[str, Any]) -> dict[str, Any]:
        data["stats"] = {
            "score_normalized": data["score"] / 100,
            "score_squared": data["score"] ** 2,
        }
        return data


USERS = [UserData(id=1, name="Alice", score=95), UserData(id=2, name="Bob", score=85)]


# docs/examples/sync-pipeline.md ----------------------------------------------------------


class NumberFilterPipe(SyncBasePipe[dict[str, Any], dict[str, Any]]):
    def process(self, data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if isinstance(v, (int, float))}


class SumPipe(SyncBasePipe[dict[str, Any], float]):
    def process(self, data: dict[str, Any]) -> float:
        return float(sum(data.values()))


# examples/config_example.py, with the PipeConfig subclass in attrs spelling ----------------


@attrs.frozen(kw_only=True)
class FilterConfig(PipeConfig):
    """Configuration for filtering values."""

    min_value: float
    name: str = "filter"


class FilterPipe(AsyncBasePipe[dict[str, float], dict[str, float]]):
    """Filter dictionary values based on minimum threshold."""

    def __init__(self, config: FilterConfig) -> None:
        super().__init__()
        self.config = config
        self.name = config.name

    async def process(self, data: dict[str, float]) -> dict[str, float]:
        return {k: v for k, v in data.items() if v >= self.config.min_value}


# examples/pipeline_composition.py ---------------------------------------------------------


@dataclass
class Order:
    """Sample order data class."""

    id: str
    customer: str
    amount: float
    status: str


class ValidationPipe(AsyncBasePipe[Order, Order]):
    """Validate order data."""

    async def process(self, data: Order) -> Order:
        if data.amount <= 0:
            raise ValueError(f"Invalid order {data.id}: amount must be positive")
        if data.status not in ["pending", "completed"]:
            raise ValueError(f"Invalid order {data.id}: status must be 'pending' or 'completed'")
        return data


@attrs.frozen(kw_only=True)
class EnrichConfig(PipeConfig):
    """Configuration for order enrichment (0.2.0: ``Field(gt=0)``)."""

    premium_threshold: float = attrs.field(validator=attrs.validators.gt(0))


class EnrichmentPipe(AsyncBasePipe[Order, Order]):
    """Enrich order with customer tier."""

    def __init__(self, config: EnrichConfig) -> None:
        super().__init__()
        self.config = config

    async def process(self, data: Order) -> Order:
        if data.amount >= self.config.premium_threshold:
            data.customer = f"{data.customer} (Premium)"
        return data


# docs/getting-started/quickstart.md, "Error Handling" --------------------------------------


class SafeFilterPipe(AsyncBasePipe[dict[str, Any], dict[str, Any]]):
    async def process(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return {k: v for k, v in data.items() if v > 100}
        except Exception as e:
            raise PipeError(self, e) from e

    async def handle_error(self, error: Exception, data: dict[str, Any]) -> dict[str, Any]:
        return {}


# Pipes ------------------------------------------------------------------------------------


def test_sync_pipeline_example() -> None:
    """docs/examples/sync-pipeline.md: '>>' of two sync pipes, called like a function."""
    pipeline = NumberFilterPipe() >> SumPipe()
    data = {"a": 10, "b": "text", "c": 20, "d": 30.5}
    assert pipeline(data) == 60.5


async def test_config_example() -> None:
    """examples/config_example.py: a pipe takes its name from its config."""
    pipe = FilterPipe(FilterConfig(min_value=100.0))
    assert pipe.name == "filter"
    assert await pipe({"a": 150.0, "b": 50.0}) == {"a": 150.0}


async def test_pipeline_composition_example() -> None:
    """examples/pipeline_composition.py: valid orders pass, an invalid one raises."""
    orders = [
        Order(id="1", customer="Alice", amount=150.0, status="pending"),
        Order(id="2", customer="Bob", amount=50.0, status="pending"),
        Order(id="3", customer="Charlie", amount=500.0, status="completed"),
        Order(id="4", customer="David", amount=50.0, status="cancelled"),
    ]
    validation_pipe = ValidationPipe()
    enrichment_pipe = EnrichmentPipe(EnrichConfig(premium_threshold=400.0))
    pipeline: AsyncPipeline[Order, Order] = AsyncPipeline([validation_pipe, enrichment_pipe])
    printed: list[str] = []
    for order in orders:
        try:
            result = await pipeline.process(order)
            printed.append(f"Processed order: {result.customer}")
        except Exception as e:
            printed.append(f"Failed to process order {order.id}: {e!s}")
    assert printed == [
        "Processed order: Alice",
        "Processed order: Bob",
        "Processed order: Charlie (Premium)",
        (
            "Failed to process order 4: stage 'ValidationPipe': ValueError: Invalid order 4: "
            "status must be 'pending' or 'completed'"
        ),
    ]


async def test_pipeline_error_as_the_user_guide_reads_it() -> None:
    """docs/user-guide/pipelines.md: 'Error in pipe {e.pipe}: {e.error}'."""
    pipeline: AsyncPipeline[Order, Order] = AsyncPipeline([ValidationPipe()])
    try:
        await pipeline.process(Order(id="9", customer="Eve", amount=0.0, status="pending"))
    except PipelineError as e:
        text = f"Error in pipe {e.pipe}: {e.error}"
    assert text == "Error in pipe ValidationPipe: Invalid order 9: amount must be positive"


async def test_quickstart_error_handling() -> None:
    """docs/getting-started/quickstart.md: PipeError(self, e) and a handle_error fallback."""
    pipeline: AsyncPipeline[dict[str, Any], dict[str, Any]] = AsyncPipeline([SafeFilterPipe()])
    assert await pipeline({"a": 150, "b": 50}) == {"a": 150}
    assert await pipeline({"a": "x"}) == {}
    error = PipeError(SafeFilterPipe(), TypeError("bad"))
    assert (error.pipe.name, str(error.error)) == ("SafeFilterPipe", "bad")


# Pipelines (0.2.0 tests/aio/test_pipeline.py and tests/sync/test_pipeline.py) ---------------


async def test_async_pipeline_composition() -> None:
    """A pipeline '>>' a pipe, and three in a row."""
    first: AsyncPipeline[int, int] = AsyncPipeline([AsyncMultiplyByTwo()])
    pipeline = first >> AsyncAddOne()
    assert await pipeline.process(2) == 5
    longer = first >> AsyncAddOne() >> AsyncMultiplyByTwo()
    assert await longer.process(2) == 10


async def test_pipeline_get_outputs() -> None:
    """get_pipe_outputs returns each pipe's outputs; [] for a pipe not in the pipeline."""
    pipe1 = AsyncMultiplyByTwo()
    pipe2 = AsyncMultiplyByTwo()
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([pipe1, pipe2])
    await pipeline.process(2)
    assert pipeline.get_pipe_outputs(pipe1) == [4]
    assert pipeline.get_pipe_outputs(pipe2) == [8]
    assert pipeline.get_pipe_outputs(AsyncMultiplyByTwo()) == []


async def test_pipeline_error_propagation() -> None:
    """A failing pipe raises PipelineError whose __cause__ is the original error."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([ParallelErrorPipe()])
    with pytest.raises(PipelineError) as exc_info:
        await pipeline.process(2)
    assert isinstance(exc_info.value.__cause__, ValueError)


async def test_conditional_execution() -> None:
    """execute_conditional runs the pipeline only when the condition holds."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([AsyncMultiplyByTwo()])
    assert await pipeline.execute_conditional(2, lambda x: x > 0) == 4
    assert await pipeline.execute_conditional(2, lambda x: x < 0) == 2
    sync: SyncPipeline[int, int] = SyncPipeline([AddPipe()])
    assert sync.execute_conditional(1, lambda x: x > 0) == 2
    assert sync.execute_conditional(1, lambda x: x < 0) == 1


def test_sync_pipeline_basics() -> None:
    """pipes, name, composition both ways, 'with pipeline as p', and empty pipelines."""
    pipe1, pipe2 = AddPipe(), SyncMultiplyByTwo()
    pipeline: SyncPipeline[int, int] = SyncPipeline([pipe1, pipe2], name="CustomPipeline")
    assert pipeline.pipes == [pipe1, pipe2]
    assert pipeline.name == "CustomPipeline"
    assert len((AddPipe() >> SyncPipeline([AddPipe()])).pipes) == 2
    assert len((SyncPipeline([AddPipe()]) >> AddPipe()).pipes) == 2
    with pipeline as p:
        assert p.process(2) == 6
    with pytest.raises(ValueError, match="at least one pipe"):
        SyncPipeline([])
    with pytest.raises(ValueError, match="at least one pipe"):
        AsyncPipeline([])


# Parallel execution -----------------------------------------------------------------------


async def test_parallel_gather() -> None:
    """GATHER: results in order, [] for no input, I/O-bound items overlap."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([AsyncMultiplyByTwo(), AsyncAddOne()])
    pipeline.configure_parallel(ExecutionStrategy.GATHER)
    async with pipeline:
        assert await pipeline.execute_parallel([1, 2, 3]) == [3, 5, 7]
        assert await pipeline.execute_parallel([]) == []
    io: AsyncPipeline[int, int] = AsyncPipeline([IOIntensivePipe()])
    io.configure_parallel(ExecutionStrategy.GATHER)
    async with io:
        assert await io.execute_parallel([1, 2, 3]) == [2, 4, 6]
    assert anyio.current_time() == 0.1


async def test_parallel_execution_error() -> None:
    """A failing item raises PipelineError with the item's error as __cause__."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([ParallelErrorPipe()])
    pipeline.configure_parallel(ExecutionStrategy.GATHER)
    async with pipeline:
        with pytest.raises(PipelineError) as exc_info:
            await pipeline.execute_parallel([1, 2, 3])
    assert isinstance(exc_info.value.__cause__, ValueError)
    assert str(exc_info.value.__cause__) == "Error processing 2"


async def test_parallel_execution_without_context() -> None:
    """Outside 'async with', 0.2.0's message is in the error."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([AsyncMultiplyByTwo()])
    pipeline.configure_parallel(ExecutionStrategy.THREAD_POOL)
    with pytest.raises(PipelineError) as exc_info:
        await pipeline.execute_parallel([1, 2, 3])
    assert "Must use async context manager for parallel execution" in str(exc_info.value)


@pytest.mark.real_clock
async def test_parallel_thread_pool_and_chunk_size() -> None:
    """THREAD_POOL with max_workers, and with a chunk_size it does not need."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([AsyncMultiplyByTwo(), AsyncAddOne()])
    pipeline.configure_parallel(ExecutionStrategy.THREAD_POOL, max_workers=2)
    async with pipeline:
        assert await pipeline.execute_parallel([1, 2, 3]) == [3, 5, 7]
    pipeline.configure_parallel(ExecutionStrategy.THREAD_POOL, chunk_size=2)
    async with pipeline:
        assert await pipeline.execute_parallel([1, 2, 3, 4]) == [3, 5, 7, 9]


@pytest.mark.real_clock
async def test_parallel_process_pool() -> None:
    """PROCESS_POOL with max_workers and chunk_size; CPU-bound work; reconfiguring."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([AsyncMultiplyByTwo(), AsyncAddOne()])
    pipeline.configure_parallel(ExecutionStrategy.PROCESS_POOL, max_workers=2, chunk_size=2)
    async with pipeline:
        assert await pipeline.execute_parallel([1, 2, 3, 4]) == [3, 5, 7, 9]
    cpu: AsyncPipeline[int, int] = AsyncPipeline([CPUIntensivePipe()])
    cpu.configure_parallel(ExecutionStrategy.THREAD_POOL, max_workers=2)
    async with cpu:
        threaded = await cpu.execute_parallel([1, 2, 3, 4])
    cpu.configure_parallel(ExecutionStrategy.PROCESS_POOL, max_workers=2)
    async with cpu:
        assert await cpu.execute_parallel([1, 2, 3, 4]) == threaded
    assert len(threaded) == 4
    assert all(isinstance(x, int) for x in threaded)


@pytest.mark.real_clock
async def test_async_pipeline_demo() -> None:
    """examples/async_pipeline_demo.py: '>>' chain, THREAD_POOL with 3 workers."""
    pipeline = AsyncScoreFilterPipe(min_score=60) >> UserEnrichmentPipe() >> AsyncStatsPipe()
    pipeline.configure_parallel(strategy=ExecutionStrategy.THREAD_POOL, max_workers=3)
    async with pipeline:
        results = await pipeline.execute_parallel(USERS)
    assert [(r["name"], r["rank"], r["stats"]["score_normalized"]) for r in results] == [
        ("Alice", "premium", 0.95),
        ("Bob", "standard", 0.85),
    ]


def test_async_pipeline_demo_under_asyncio_run() -> None:
    """The demo's asyncio-only pipes still run when started with asyncio.run(main())."""

    async def main() -> list[dict[str, Any]]:
        pipeline = AsyncScoreFilterPipe(min_score=60) >> AsyncioEnrichmentPipe()
        pipeline.configure_parallel(strategy=ExecutionStrategy.THREAD_POOL, max_workers=3)
        async with pipeline:
            return await pipeline.execute_parallel(USERS)

    assert [r["name"] for r in asyncio.run(main())] == ["Alice", "Bob"]


def test_sync_parallel_execution() -> None:
    """SyncPipeline: THREAD_POOL inside 'with'; 0.2.0's message outside."""
    pipeline: SyncPipeline[int, int] = SyncPipeline([AddPipe()])
    pipeline.configure_parallel(ExecutionStrategy.THREAD_POOL)
    with pipeline:
        result = pipeline.execute_parallel([1, 2, 3])
    assert result == [2, 3, 4]
    with pytest.raises(PipelineError) as exc_info:
        pipeline.execute_parallel([1, 2, 3])
    assert "Must use context manager for parallel execution" in str(exc_info.value)


def test_parallel_config_and_strategy() -> None:
    """ExecutionStrategy values, ParallelConfig defaults and positional construction."""
    assert [s.value for s in ExecutionStrategy] == ["gather", "thread_pool", "process_pool"]
    assert ExecutionStrategy("thread_pool") is ExecutionStrategy.THREAD_POOL
    assert ConfigParallelConfig is ParallelConfig
    assert ParallelConfig().strategy is ExecutionStrategy.GATHER
    assert ParallelConfig().chunk_size == 1000
    assert ParallelConfig(ExecutionStrategy.THREAD_POOL, 8) == ParallelConfig(
        strategy=ExecutionStrategy.THREAD_POOL, max_workers=8
    )
    with pytest.raises(ValueError, match="strategy"):
        SyncPipeline([AddPipe()]).configure_parallel("bogus")


# Messages (src/rivusio/core/message.py docstrings) ------------------------------------------


def test_message_docstring_examples() -> None:
    """Metadata with source and headers inside a message; a unique id per metadata."""
    message = Message(
        value={"temperature": 22.5, "humidity": 45.2, "unit": "celsius"},
        metadata=MessageMetadata(
            source="environmental_sensor",
            correlation_id="batch_xyz",
            headers={"device_id": "env_123", "location": "warehouse_a"},
        ),
    )
    assert f"Temperature: {message.value['temperature']}°C" == "Temperature: 22.5°C"
    assert isinstance(message.metadata, MessageMetadata)
    assert message.metadata.source == "environmental_sensor"
    assert isinstance(message.metadata.timestamp, datetime)
    metadata = MessageMetadata(timestamp=datetime.now(), source="sensor_1")
    assert metadata.source == "sensor_1"
    assert metadata.message_id != MessageMetadata(source="sensor_1").message_id


def test_message_with_dict_metadata() -> None:
    """0.2.0's tests: dict metadata, read by key."""
    metadata = {"timestamp": datetime.now(), "source": "test_source", "message_id": "123"}
    message = Message(value={"key": "value"}, metadata=metadata)
    assert message.metadata == metadata
    assert isinstance(message.metadata, dict)
    assert message.metadata["message_id"] == "123"
    assert message == Message(value={"key": "value"}, metadata=dict(metadata))


# Plugins (docs/user-guide/plugins.md, 0.2.0 tests/plugins/test_plugins.py) -------------------


def test_plugin_user_guide(tmp_path: Path) -> None:
    """The user guide's Kafka source and CSV sink, registered with '@registry.register_*'."""

    @registry.register_async_source("kafka")
    class KafkaSource(AsyncBasePipe[None, dict[str, Any]]):
        """Source that reads messages from Kafka."""

        async def process(self, _: None) -> dict[str, Any]:
            return {"id": 1}

    @registry.register_sync_sink("csv")
    class CsvSink(SyncBasePipe[dict[str, Any], None]):
        """Sink that writes data to CSV files."""

        def __init__(self, filename: Path) -> None:
            super().__init__()
            self.filename = filename

        def process(self, data: dict[str, Any]) -> None:
            with open(self.filename, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(data.keys()), lineterminator="\n")
                writer.writerow(data)

    target = tmp_path / "output.csv"
    pipeline = NumberFilterPipe() >> CsvSink(filename=target)
    assert pipeline({"a": 1, "b": "text", "c": 2.5}) is None
    assert target.read_text() == "1,2.5\n"
    assert registry.get_async_source("kafka") is KafkaSource
    assert registry.get_sync_sink("csv") is CsvSink


def test_plugin_registry_as_0_2_0_tested_it() -> None:
    """Singleton, the module-level decorators, get_registered_plugins, KeyError lookups."""
    assert PluginRegistry() is PluginRegistry()

    @register_async_source("test_source")
    class DummyAsyncSource(AsyncMultiplyByTwo):
        pass

    @register_async_sink("test_sink")
    class DummyAsyncSink(AsyncMultiplyByTwo):
        pass

    @register_sync_source("test_source")
    class DummySyncSource(AddPipe):
        pass

    @register_sync_sink("test_sink")
    class DummySyncSink(AddPipe):
        pass

    plugins = PluginRegistry().get_registered_plugins()
    assert plugins == {
        "async_sources": {"test_source": DummyAsyncSource},
        "async_sinks": {"test_sink": DummyAsyncSink},
        "sync_sources": {"test_source": DummySyncSource},
        "sync_sinks": {"test_sink": DummySyncSink},
    }
    with pytest.raises(ValueError, match="already registered"):

        @registry.register_async_source("test_source")
        class DummyAsyncSource2(AsyncMultiplyByTwo):
            pass

    with pytest.raises(TypeError):

        @registry.register_sync_sink("test_sink")
        class InvalidSink:  # type: ignore[type-var]
            pass

    for lookup in (
        registry.get_async_source,
        registry.get_async_sink,
        registry.get_sync_source,
        registry.get_sync_sink,
    ):
        with pytest.raises(KeyError):
            lookup("nonexistent")


# Configuration ----------------------------------------------------------------------------


def test_stream_config_construction() -> None:
    """StreamConfig as 0.2.0's docstring and advanced patterns build it; 0.2.0 defaults."""
    config = StreamConfig(
        name="sensor_stream",
        batch_size=100,
        window_size=timedelta(minutes=5),
        buffer_size=1000,
    )
    assert (config.name, config.batch_size, config.window_size, config.buffer_size) == (
        "sensor_stream",
        100,
        timedelta(minutes=5),
        1000,
    )
    assert StreamConfig(window_size=timedelta(minutes=5), batch_size=10).batch_size == 10
    defaults = StreamConfig()
    assert (
        defaults.retry_attempts,
        defaults.retry_delay,
        defaults.retry_backoff,
        defaults.timeout,
        defaults.batch_size,
        defaults.window_size,
        defaults.buffer_size,
        defaults.collect_metrics,
    ) == (3, 1.0, 2.0, 30.0, 1, timedelta(0), 1000, True)


def test_stream_config_validation_is_a_value_error() -> None:
    """Out-of-range values raise a ValueError, as pydantic's ValidationError was one."""
    with pytest.raises(ValueError, match="batch_size"):
        StreamConfig(batch_size=0)
    with pytest.raises(ValueError, match="retry_attempts"):
        StreamConfig(retry_attempts=-1)


def test_pipe_config_base_fields() -> None:
    """PipeConfig keeps 0.2.0's name and description, with 0.2.0's defaults."""
    assert (PipeConfig().name, PipeConfig().description) == ("default", "")
    config = PipeConfig(name="data_processor", description="Processes incoming data")
    assert (config.name, config.description) == ("data_processor", "Processes incoming data")
