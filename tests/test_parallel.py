"""execute_parallel: the gather, thread_pool and process_pool strategies."""

from __future__ import annotations

import os
import pickle
import threading
import time

import anyio
import anyio.lowlevel
import pytest

from rivusio import (
    AsyncBasePipe,
    AsyncPipeline,
    ConfigError,
    ExecutionStrategy,
    PipelineError,
    SyncBasePipe,
    SyncPipeline,
)
from rivusio.monitoring import PipelineMonitor
from rivusio.parallel import _dumps, _run_chunk

from .helpers import Double, FailOn, Inc


class Sleepy(AsyncBasePipe[int, int]):
    """Async: sleeps ``delay(x)`` seconds and returns x, tracking how many run at once."""

    def __init__(self, delay: float = 1.0) -> None:
        super().__init__()
        self.delay = delay
        self.active = 0
        self.peak = 0
        self.finished: list[int] = []

    async def process(self, data: int) -> int:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await anyio.sleep(self.delay)
        finally:
            self.active -= 1
        self.finished.append(data)
        return data


class Countdown(AsyncBasePipe[int, int]):
    """Async: the first inputs sleep longest, so they finish last."""

    async def process(self, data: int) -> int:
        await anyio.sleep(10 - data)
        return data * 10


class BlockingCounter(SyncBasePipe[int, int]):
    """Sync: blocks for a while in time.sleep, tracking how many threads are inside."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.threads: set[int] = set()

    def process(self, data: int) -> int:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.threads.add(threading.get_ident())
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
        return data + 100


class WherePid(SyncBasePipe[int, tuple[int, int]]):
    """Sync: pairs the input with the id of the process that handled it."""

    def process(self, data: int) -> tuple[int, int]:
        return (data, os.getpid())


class Scale(SyncBasePipe[int, int]):
    """Sync, plain-subclass style: multiplies by a factor set in its own __init__."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def process(self, data: int) -> int:
        return data * self.factor


class AsyncScale(AsyncBasePipe[int, int]):
    """Async, plain-subclass style: multiplies by a factor after a checkpoint."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    async def process(self, data: int) -> int:
        await anyio.lowlevel.checkpoint()
        return data * self.factor


class Locked(SyncBasePipe[int, int]):
    """Sync: holds a lock, so it cannot be pickled."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def process(self, data: int) -> int:
        return data


class PickyError(Exception):
    """An exception whose constructor needs two arguments, so it does not unpickle."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code}: {text}")


class RaisesPicky(SyncBasePipe[int, int]):
    """Sync: raises PickyError for 2."""

    def process(self, data: int) -> int:
        if data == 2:
            raise PickyError(7, "picky")
        return data


class Crash(SyncBasePipe[int, int]):
    """Sync: ends its process abruptly."""

    def process(self, data: int) -> int:
        os._exit(3)


class OwnProcess(AsyncPipeline[int, int]):
    """A pipeline subclass whose own process raises a plain exception for 3."""

    async def process(self, data: int) -> int:
        if data == 3:
            raise KeyError(data)
        return data


# gather -------------------------------------------------------------------------------------


async def test_gather_returns_results_in_input_order() -> None:
    """Results follow the inputs, although the first inputs finish last."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Countdown()])
    pipeline.configure_parallel(ExecutionStrategy.GATHER)
    async with pipeline:
        results = await pipeline.execute_parallel(range(5))
    assert results == [0, 10, 20, 30, 40]
    assert anyio.current_time() == 10.0


async def test_gather_respects_max_workers() -> None:
    """At most max_workers inputs are in flight; 10 one-second inputs by 3 take 4 s."""
    sleepy = Sleepy()
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([sleepy])
    pipeline.configure_parallel("gather", max_workers=3)
    async with pipeline:
        results = await pipeline.execute_parallel(range(10))
    assert results == list(range(10))
    assert sleepy.peak == 3
    assert anyio.current_time() == 4.0


async def test_gather_without_max_workers_runs_everything_at_once() -> None:
    """max_workers=None (0.2.0's default for gather) puts every input in flight."""
    sleepy = Sleepy()
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([sleepy])
    pipeline.configure_parallel(ExecutionStrategy.GATHER, max_workers=None)
    async with pipeline:
        await pipeline.execute_parallel(range(25))
    assert sleepy.peak == 25
    assert anyio.current_time() == 1.0


async def test_unconfigured_async_pipeline_gathers_four_at_a_time() -> None:
    """Without configure_parallel, ParallelConfig() applies: gather, 4 at once."""
    sleepy = Sleepy()
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([sleepy])
    async with pipeline:
        await pipeline.execute_parallel(range(8))
    assert sleepy.peak == 4
    assert anyio.current_time() == 2.0


async def test_gather_mixes_sync_and_async_pipes() -> None:
    """A mixed pipeline runs each input through every pipe."""
    pipeline = Double() >> Inc()
    pipeline.configure_parallel("gather", max_workers=2)
    async with pipeline:
        assert await pipeline.execute_parallel([1, 2, 3]) == [3, 5, 7]
        assert await pipeline.execute_parallel([]) == []


async def test_gather_failure_names_the_pipe_of_the_first_failed_input() -> None:
    """Of inputs failing together, the first in input order is reported, with its cause."""
    failing = FailOn([3, 5])
    pipeline = Inc() >> failing
    pipeline.configure_parallel("gather", max_workers=None)
    async with pipeline:
        with pytest.raises(PipelineError, match=r"^stage 'FailOn': ValueError: bad item 3$") as e:
            await pipeline.execute_parallel([1, 6, 2, 4, 2])
    assert e.value.pipe is failing
    assert isinstance(e.value.__cause__, ValueError)
    assert str(e.value.__cause__) == "bad item 3"


async def test_gather_failure_cancels_inputs_in_flight() -> None:
    """A failure cancels the inputs still running, so the call returns at once."""
    sleepy = Sleepy(delay=100.0)
    pipeline = FailOn([0]) >> sleepy
    pipeline.configure_parallel("gather", max_workers=2)
    async with pipeline:
        with pytest.raises(PipelineError, match="bad item 0"):
            await pipeline.execute_parallel([1, 0, 2, 3])
    assert sleepy.finished == []
    assert anyio.current_time() == 0.0


async def test_a_plain_failure_of_the_pipeline_itself_is_wrapped() -> None:
    """An exception that is not a PipelineError becomes one naming the pipeline."""
    pipeline = OwnProcess([Inc()], name="own")
    async with pipeline:
        with pytest.raises(PipelineError, match=r"^stage 'own': KeyError: 3$") as caught:
            await pipeline.execute_parallel([1, 3])
    assert caught.value.pipe is pipeline
    assert isinstance(caught.value.__cause__, KeyError)


async def test_gather_records_pipe_outputs() -> None:
    """get_pipe_outputs sees the outputs of parallel runs, within keep_outputs."""
    double = Double()
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([double, Inc()], keep_outputs=3)
    pipeline.configure_parallel("gather", max_workers=1)
    async with pipeline:
        await pipeline.execute_parallel(range(5))
    assert pipeline.get_pipe_outputs(double) == [4, 6, 8]


async def test_execute_parallel_reports_to_the_pipeline_monitor() -> None:
    """Each input's time (on the loop's clock), successes and the error reach the monitor."""
    monitor = PipelineMonitor()
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Sleepy(), FailOn([9])])
    pipeline.set_monitor(monitor)
    pipeline.configure_parallel("gather", max_workers=2)
    async with pipeline:
        await pipeline.execute_parallel(range(4))
        with pytest.raises(PipelineError):
            await pipeline.execute_parallel([9])
    metrics = monitor.get_metrics()
    assert metrics["items_processed"] == 4
    assert metrics["errors"] == 1
    assert metrics["error_rate"] == 1 / 5
    assert metrics["processing_time"]["count"] == 4
    assert metrics["processing_time"]["average"] == 1.0


# the context manager ------------------------------------------------------------------------


async def test_async_execute_parallel_needs_async_with() -> None:
    """Outside 'async with' (before or after), execute_parallel raises, as 0.2.0 did."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Inc()], name="p")
    message = (
        r"^stage 'p': RuntimeError: Must use async context manager for parallel execution: "
        r"call execute_parallel\(\) inside 'async with pipeline:'$"
    )
    with pytest.raises(PipelineError, match=message) as caught:
        await pipeline.execute_parallel([1])
    assert isinstance(caught.value.__cause__, RuntimeError)
    async with pipeline:
        assert await pipeline.execute_parallel([1]) == [2]
    with pytest.raises(PipelineError, match="Must use async context manager"):
        await pipeline.execute_parallel([1])


async def test_nested_async_with_keeps_the_pipeline_entered() -> None:
    """Leaving an inner 'async with' of the same pipeline does not end the outer one."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Inc()])
    async with pipeline:
        async with pipeline:
            assert await pipeline.execute_parallel([1]) == [2]
        assert await pipeline.execute_parallel([2]) == [3]


def test_sync_execute_parallel_needs_with() -> None:
    """SyncPipeline.execute_parallel outside 'with' raises, naming the pipeline."""
    pipeline: SyncPipeline[int, int] = SyncPipeline([Double()], name="s")
    message = (
        r"^stage 's': RuntimeError: Must use context manager for parallel execution: "
        r"call execute_parallel\(\) inside 'with pipeline:'$"
    )
    with pytest.raises(PipelineError, match=message):
        pipeline.execute_parallel([1])


def test_configure_parallel_rejects_bad_values() -> None:
    """Bad settings raise ConfigError (a ValueError) naming every bad field."""
    pipeline: SyncPipeline[int, int] = SyncPipeline([Double()])
    with pytest.raises(ConfigError, match="strategy") as caught:
        pipeline.configure_parallel("turbo", max_workers=0, chunk_size=0)
    assert isinstance(caught.value, ValueError)
    assert [line.split(":")[0] for line in caught.value.problems] == [
        "strategy",
        "max_workers",
        "chunk_size",
    ]


# the sync path ------------------------------------------------------------------------------


def test_sync_execute_parallel_from_plain_code() -> None:
    """With no event loop running, every strategy works and keeps input order."""
    pipeline = Double() >> Scale(3)
    for strategy in ("gather", "thread_pool", "process_pool"):
        pipeline.configure_parallel(strategy, max_workers=2, chunk_size=3)
        with pipeline:
            assert pipeline.execute_parallel(range(7)) == [x * 6 for x in range(7)]


def test_sync_path_loop_ends_with_the_block() -> None:
    """The background loop starts on first use and its threads are gone after 'with'."""
    before = set(threading.enumerate())
    pipeline: SyncPipeline[int, int] = SyncPipeline([Double()])
    pipeline.configure_parallel("thread_pool", max_workers=2)
    with pipeline:
        assert pipeline.execute_parallel([1, 2]) == [2, 4]
        assert pipeline.execute_parallel([3]) == [6]
        started = set(threading.enumerate()) - before
        assert started
    # The loop's thread is joined on exit; its idle worker threads finish right after.
    for thread in started:
        thread.join(timeout=5)
    assert [thread for thread in started if thread.is_alive()] == []


def test_unconfigured_sync_pipeline_uses_threads() -> None:
    """Without configure_parallel, a SyncPipeline runs 4 inputs at a time in threads."""
    counter = BlockingCounter()
    pipeline: SyncPipeline[int, int] = SyncPipeline([counter])
    with pipeline:
        assert pipeline.execute_parallel(range(8)) == list(range(100, 108))
    assert counter.peak == 4
    assert threading.get_ident() not in counter.threads


def test_sync_failure_is_raised_in_the_caller() -> None:
    """A failing input raises PipelineError from the blocking call."""
    pipeline = Double() >> FailOn([4])
    pipeline.configure_parallel("thread_pool", max_workers=2)
    with pipeline, pytest.raises(PipelineError, match=r"^stage 'FailOn': ValueError: bad item 4$"):
        pipeline.execute_parallel([1, 2, 3])


# thread_pool --------------------------------------------------------------------------------


@pytest.mark.real_clock
async def test_thread_pool_respects_max_workers() -> None:
    """At most max_workers threads run the blocking pipe at once; order is kept."""
    counter = BlockingCounter()
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([counter])
    pipeline.configure_parallel(ExecutionStrategy.THREAD_POOL, max_workers=3)
    async with pipeline:
        results = await pipeline.execute_parallel(range(9))
    assert results == list(range(100, 109))
    assert counter.peak == 3
    assert threading.get_ident() not in counter.threads


@pytest.mark.real_clock
async def test_thread_pool_runs_async_pipes_on_a_loop_per_thread() -> None:
    """Async pipes run in worker threads on loops of their own, in input order."""
    pipeline = AsyncScale(2) >> Inc()
    pipeline.configure_parallel("thread_pool", max_workers=2)
    async with pipeline:
        assert await pipeline.execute_parallel(range(6)) == [1, 3, 5, 7, 9, 11]


@pytest.mark.real_clock
async def test_thread_pool_failure() -> None:
    """A failing input in a thread raises PipelineError with the original cause."""
    pipeline = AsyncScale(1) >> FailOn([2])
    pipeline.configure_parallel("thread_pool", max_workers=2)
    async with pipeline:
        with pytest.raises(PipelineError, match=r"^stage 'FailOn': ValueError: bad item 2$"):
            await pipeline.execute_parallel([1, 2, 3])


# process_pool -------------------------------------------------------------------------------


@pytest.mark.real_clock
async def test_process_pool_sends_chunks_to_worker_processes() -> None:
    """Inputs go to other processes chunk_size at a time; results keep input order."""
    pipeline: AsyncPipeline[int, tuple[int, int]] = AsyncPipeline([WherePid()])
    pipeline.configure_parallel(ExecutionStrategy.PROCESS_POOL, max_workers=2, chunk_size=3)
    async with pipeline:
        results = await pipeline.execute_parallel(range(7))
    assert [value for value, _ in results] == list(range(7))
    pids = [pid for _, pid in results]
    assert os.getpid() not in pids
    assert pids[0] == pids[1] == pids[2]
    assert pids[3] == pids[4] == pids[5]
    assert len(set(pids)) <= 2


@pytest.mark.real_clock
async def test_process_pool_runs_async_pipelines_with_plain_subclass_pipes() -> None:
    """Pipes that set attributes in their own __init__ arrive whole in the workers."""
    pipeline = AsyncScale(3) >> Scale(2) >> Inc()
    pipeline.configure_parallel("process_pool", max_workers=2, chunk_size=2)
    async with pipeline:
        assert await pipeline.execute_parallel([1, 2, 3, 4, 5]) == [7, 13, 19, 25, 31]


@pytest.mark.real_clock
async def test_process_pool_failure_names_this_process_pipe() -> None:
    """A worker's failure is raised here naming the parent's pipe, with the cause."""
    failing = FailOn([5])
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Scale(1), failing])
    pipeline.configure_parallel("process_pool", max_workers=2, chunk_size=2)
    async with pipeline:
        with pytest.raises(PipelineError, match=r"^stage 'FailOn': ValueError: bad item 5$") as e:
            await pipeline.execute_parallel([1, 2, 3, 4, 5, 6])
    assert e.value.pipe is failing
    assert isinstance(e.value.__cause__, ValueError)


@pytest.mark.real_clock
async def test_process_pool_error_that_cannot_travel_arrives_as_runtime_error() -> None:
    """An exception that does not survive pickling arrives as a RuntimeError naming it."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([RaisesPicky()])
    pipeline.configure_parallel("process_pool", max_workers=1)
    async with pipeline:
        with pytest.raises(
            PipelineError, match=r"^stage 'RaisesPicky': RuntimeError: PickyError: 7: picky$"
        ):
            await pipeline.execute_parallel([1, 2])


async def test_process_pool_rejects_an_unpicklable_pipeline() -> None:
    """A pipeline that cannot be pickled fails at once with the reason and the fixes."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Double(), Locked()])
    pipeline.configure_parallel("process_pool")
    async with pipeline:
        with pytest.raises(
            PipelineError,
            match=(
                r"^stage 'AsyncPipeline': TypeError: process_pool: the pipeline must be "
                r"picklable to run in worker processes, but pickling it failed \(TypeError: "
                r".*\); define pipe classes at module level"
            ),
        ) as caught:
            await pipeline.execute_parallel([1])
    assert isinstance(caught.value.__cause__, TypeError)


async def test_process_pool_rejects_unpicklable_items() -> None:
    """Inputs that cannot be pickled are named by their slice."""
    pipeline: AsyncPipeline[object, object] = AsyncPipeline([Double()])
    pipeline.configure_parallel("process_pool", chunk_size=2)
    async with pipeline:
        with pytest.raises(
            PipelineError,
            match=r"process_pool: items\[0:2\] must be picklable to go to a worker process",
        ):
            await pipeline.execute_parallel([threading.Lock(), 1, 2])


@pytest.mark.real_clock
async def test_process_pool_broken_worker() -> None:
    """A worker process that dies is reported as a PipelineError naming the pipeline."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Crash()], name="crashy")
    pipeline.configure_parallel("process_pool", max_workers=1)
    async with pipeline:
        with pytest.raises(PipelineError, match=r"^stage 'crashy': BrokenWorkerProcess"):
            await pipeline.execute_parallel([1])


@pytest.mark.real_clock
async def test_process_pool_failure_of_the_pipeline_itself() -> None:
    """A plain exception from the pipeline's own process names the parent's pipeline."""
    pipeline = OwnProcess([Inc()], name="own")
    pipeline.configure_parallel("process_pool", max_workers=1)
    async with pipeline:
        with pytest.raises(PipelineError, match=r"^stage 'own': KeyError: 3$") as caught:
            await pipeline.execute_parallel([1, 3])
    assert caught.value.pipe is pipeline


# what travels to a worker process (run here, where coverage sees it) ------------------------


def test_a_shipped_pipeline_keeps_plain_attributes_but_not_its_monitor() -> None:
    """Attributes set in a pipe's own __init__ survive the trip; monitors stay behind."""
    scale = Scale(4)
    scale.set_monitor(PipelineMonitor())
    pipeline: SyncPipeline[int, int] = SyncPipeline([scale, Double()])
    copy = pickle.loads(_dumps(pipeline))
    assert copy.pipes[0].factor == 4
    assert copy.pipes[0].monitor is None
    assert copy(5) == 40
    assert pipeline.pipes[0].monitor is not None


def test_a_worker_returns_failures_as_data() -> None:
    """A chunk's failure comes back as the failing stage and a picklable cause."""
    pipeline: SyncPipeline[int, int] = SyncPipeline([Double(), FailOn([4])])
    shipped = _dumps(pipeline)
    assert _run_chunk(shipped, pickle.dumps([1, 3]), "asyncio").unpack(pipeline) == [2, 6]
    with pytest.raises(PipelineError, match=r"^stage 'FailOn': ValueError: bad item 4$") as e:
        _run_chunk(shipped, pickle.dumps([1, 2, 3]), "asyncio").unpack(pipeline)
    assert e.value.pipe is pipeline.pipes[1]
    picky: SyncPipeline[int, int] = SyncPipeline([RaisesPicky()])
    outcome = _run_chunk(_dumps(picky), pickle.dumps([2]), "asyncio")
    assert repr(outcome.error) == "RuntimeError('PickyError: 7: picky')"
    own = OwnProcess([Inc()], name="own")
    with pytest.raises(PipelineError, match=r"^stage 'own': KeyError: 3$") as e:
        _run_chunk(_dumps(own), pickle.dumps([1, 3]), "asyncio").unpack(own)
    assert e.value.pipe is own
