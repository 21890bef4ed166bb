"""Running a pipeline over a list of inputs at once (rivusio 0.2.0's ``execute_parallel``).

Configure a pipeline with ``configure_parallel(strategy, max_workers, chunk_size)``, enter
it with ``async with`` (:class:`~rivusio.AsyncPipeline`) or ``with``
(:class:`~rivusio.SyncPipeline`), and call ``execute_parallel(items)``::

    pipeline.configure_parallel(ExecutionStrategy.THREAD_POOL, max_workers=8)
    async with pipeline:
        results = await pipeline.execute_parallel(items)

The strategies (:class:`~rivusio.ExecutionStrategy`):

- ``gather``: every input is a task on the event loop, at most ``max_workers`` at once
  (``None``: no limit). For async pipelines whose work is waiting on I/O. A
  :class:`~rivusio.SyncPipeline` has no await points, so under ``gather`` its inputs run
  one after another.
- ``thread_pool``: each input runs in a worker thread, at most ``max_workers`` threads at
  once (``None``: ``min(32, 4 * CPUs)``). An async pipeline runs on an event loop of its
  own in that thread, on the caller's backend.
- ``process_pool``: inputs go to worker processes in chunks of ``chunk_size``, at most
  ``max_workers`` processes at once (``None``: ``CPUs - 1``, at least 1). The pipeline and
  the inputs must be picklable; so must outputs and exceptions (an exception that is not
  arrives as a ``RuntimeError`` naming its type). Each worker runs its own copy of the
  pipeline, so :meth:`~rivusio.SyncPipeline.get_pipe_outputs` in this process sees
  nothing of that work. Scripts that use it need the usual
  ``if __name__ == "__main__":`` guard: each worker process imports the main module.

A pipeline with a monitor (``pipeline.set_monitor(monitor)``) reports every input to it:
its processing time on the event loop's clock (under ``process_pool``, a chunk's time
shared evenly among its inputs), a success or an error, and the number processed, so
``monitor.get_metrics()`` shows ``items_processed``, ``processing_time`` and
``error_rate`` of ``execute_parallel`` calls.

Results come back in input order whatever the strategy. When an input fails, the inputs
still running are cancelled (a worker thread is waited for; a worker process is stopped)
and :class:`~rivusio.PipelineError` is raised; when several inputs failed before the
cancellation took effect, it is for the one that comes first in input order.

A pipeline that was never configured uses ``ParallelConfig()`` (``gather``, 4 at once)
if it is an ``AsyncPipeline`` and ``thread_pool`` with 4 threads if it is a
``SyncPipeline``.

``SyncPipeline.execute_parallel`` is plain blocking code: on its first call inside a
``with`` block it starts an asyncio event loop in a background thread, which runs every
call of that block and stops when the block ends (worker processes stay up between calls
of the same block).

The functions below are what the pipelines call; applications use the pipeline methods.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import pickle
import threading
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.from_thread
import anyio.to_process
import anyio.to_thread
import attrs

from .config import ExecutionStrategy, ParallelConfig
from .core.exceptions import PipelineError
from .core.pipes import BasePipe, SyncBasePipe
from .runtime._host import _in_trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from anyio.from_thread import BlockingPortal

__all__ = (
    "enter_parallel",
    "exit_parallel",
    "make_parallel_config",
    "run_parallel",
    "run_parallel_sync",
)

DEFAULT_WORKERS = 4
"""``max_workers`` of a pipeline that was never configured."""


def make_parallel_config(
    strategy: ExecutionStrategy | str, max_workers: int | None, chunk_size: int
) -> ParallelConfig:
    """Build the settings ``configure_parallel`` stores.

    Args:
        strategy: An :class:`~rivusio.ExecutionStrategy` or its value (``"gather"``,
            ``"thread_pool"``, ``"process_pool"``).
        max_workers: At most this many inputs at once, ``>= 1``; ``None`` for the
            strategy's default (see the module docs).
        chunk_size: Inputs per worker-process call under ``process_pool``, ``>= 1``.

    Raises:
        ConfigError: A value is invalid; every bad one is listed. ``ConfigError`` is a
            ``ValueError``, as 0.2.0's error for an unknown strategy was.
    """
    return ParallelConfig(strategy=strategy, max_workers=max_workers, chunk_size=chunk_size)


@attrs.define(eq=False)
class _Session:
    """A pipeline's ``with`` / ``async with`` state: how deep, and the sync path's loop."""

    depth: int = 0
    portal: BlockingPortal | None = None
    exits: contextlib.ExitStack = attrs.Factory(contextlib.ExitStack)
    lock: threading.Lock = attrs.Factory(threading.Lock)

    def __reduce__(self) -> tuple[type[_Session], tuple[()]]:
        # A copy of the pipeline (a worker process's) is not inside anyone's `with`.
        return (_Session, ())


def _session(pipeline: Any) -> _Session:
    session: _Session | None = pipeline._parallel_session
    if session is None:
        session = pipeline._parallel_session = _Session()
    return session


def enter_parallel(pipeline: Any) -> None:
    """Mark *pipeline* as inside ``with`` / ``async with``; blocks may nest."""
    _session(pipeline).depth += 1


def exit_parallel(pipeline: Any) -> None:
    """Leave one ``with`` / ``async with`` level; the outermost stops the sync path's loop.

    Stopping the loop waits for calls still running in it and shuts its worker processes
    down.
    """
    session = _session(pipeline)
    session.depth -= 1
    if session.depth == 0:
        with session.lock:
            session.portal = None
            session.exits.close()


def _require_entered(pipeline: Any, block: str) -> None:
    session: _Session | None = pipeline._parallel_session
    if session is None or session.depth <= 0:
        manager = "async context manager" if block == "async with" else "context manager"
        error = RuntimeError(
            f"Must use {manager} for parallel execution: call execute_parallel() "
            f"inside '{block} pipeline:'"
        )
        raise PipelineError(pipeline, error) from error


async def run_parallel(
    pipeline: BasePipe[Any, Any], config: ParallelConfig | None, items: Iterable[Any]
) -> list[Any]:
    """Run *pipeline* on every item as *config* says; return the outputs in input order.

    Args:
        pipeline: An entered pipeline (``async with pipeline:``).
        config: Its ``configure_parallel`` settings; ``None`` for ``ParallelConfig()``.
        items: The inputs.

    Raises:
        PipelineError: *pipeline* is not inside ``async with``; or an input failed (for
            the first failed input in input order; ``__cause__`` is the original error);
            or, under ``process_pool``, the pipeline or an input cannot be pickled or a
            worker process broke.
    """
    _require_entered(pipeline, "async with")
    return await _run(pipeline, config or ParallelConfig(), list(items))


def run_parallel_sync(
    pipeline: BasePipe[Any, Any], config: ParallelConfig | None, items: Iterable[Any]
) -> list[Any]:
    """Blocking :func:`run_parallel` for ``SyncPipeline.execute_parallel``.

    Runs on the ``with`` block's event loop in a background thread, started on first use;
    callable from any thread, whether or not it runs an event loop of its own.

    Args:
        pipeline: An entered pipeline (``with pipeline:``).
        config: Its ``configure_parallel`` settings; ``None`` for ``thread_pool`` with 4
            threads.
        items: The inputs.

    Raises:
        PipelineError: As for :func:`run_parallel`, with ``with`` in place of
            ``async with``.
    """
    _require_entered(pipeline, "with")
    session = _session(pipeline)
    with session.lock:
        if session.portal is None:
            session.portal = session.exits.enter_context(anyio.from_thread.start_blocking_portal())
        portal = session.portal
    config = config or ParallelConfig(strategy=ExecutionStrategy.THREAD_POOL)
    return portal.call(_run, pipeline, config, list(items))


async def _run(
    pipeline: BasePipe[Any, Any], config: ParallelConfig, items: list[Any]
) -> list[Any]:
    if not items:
        return []
    results: list[Any] = [None] * len(items)
    backend = "trio" if _in_trio() else "asyncio"
    cpus = os.cpu_count() or 1
    size = 1
    work: Callable[[list[Any], int], Awaitable[list[Any]]]

    if config.strategy is ExecutionStrategy.GATHER:
        workers = config.max_workers or len(items)

        async def work(chunk: list[Any], start: int) -> list[Any]:
            return [await _call(pipeline, chunk[0])]

    elif config.strategy is ExecutionStrategy.THREAD_POOL:
        threads = anyio.CapacityLimiter(config.max_workers or min(32, 4 * cpus))
        workers = int(threads.total_tokens)

        async def work(chunk: list[Any], start: int) -> list[Any]:
            call = anyio.to_thread.run_sync(
                _call_blocking, pipeline, chunk[0], backend, limiter=threads
            )
            return [await _guard(pipeline, call)]

    else:
        processes = anyio.CapacityLimiter(config.max_workers or max(1, cpus - 1))
        workers = int(processes.total_tokens)
        size = config.chunk_size
        shipped = _pickle_pipeline(pipeline)

        async def work(chunk: list[Any], start: int) -> list[Any]:
            call = anyio.to_process.run_sync(
                _run_chunk,
                shipped,
                _pickle_items(pipeline, chunk, start),
                backend,
                cancellable=True,
                limiter=processes,
            )
            outcome: _Outcome = await _guard(pipeline, call)
            return outcome.unpack(pipeline)

    starts = range(0, len(items), size)
    monitor = pipeline.monitor

    async def run_unit(number: int) -> None:
        start = starts[number]
        chunk = items[start : start + size]
        began = anyio.current_time()
        try:
            outputs = await work(chunk, start)
        except Exception:
            if monitor is not None:
                monitor.record_error()
            raise
        if monitor is not None:
            # A worker process reports a chunk at once: its time is shared evenly.
            each = (anyio.current_time() - began) / len(chunk)
            for _ in chunk:
                monitor.record_processing_time(each)
                monitor.record_success()
            monitor.record_throughput(len(chunk))
        results[start : start + len(chunk)] = outputs

    await _drive(len(starts), workers, run_unit)
    return results


async def _drive(count: int, workers: int, run: Callable[[int], Awaitable[None]]) -> None:
    """Call ``run(i)`` for ``i`` in ``range(count)`` with at most *workers* at once.

    *workers* tasks share one iterator of indices, so no more than that many tasks (and
    inputs) are ever alive. The first failure cancels the rest; the failure with the
    lowest index is raised, so the error does not depend on which task lost a race.
    """
    indices = iter(range(count))
    failures: list[tuple[int, Exception]] = []

    async def worker(group: anyio.abc.TaskGroup) -> None:
        for index in indices:
            try:
                await run(index)
            except Exception as exc:
                failures.append((index, exc))
                group.cancel_scope.cancel()
                return

    async with anyio.create_task_group() as group:
        for _ in range(min(workers, count)):
            group.start_soon(worker, group)
    if failures:
        _, error = min(failures, key=lambda failure: failure[0])
        raise error


async def _guard(pipeline: BasePipe[Any, Any], call: Awaitable[Any]) -> Any:
    try:
        return await call
    except PipelineError:
        raise
    except Exception as exc:
        raise PipelineError(pipeline, exc) from exc


async def _call(pipeline: BasePipe[Any, Any], item: Any) -> Any:
    try:
        value = pipeline.process(item)  # type: ignore[attr-defined]
        if inspect.isawaitable(value):
            value = await value
    except PipelineError:
        raise
    except Exception as exc:
        raise PipelineError(pipeline, exc) from exc
    return value


def _call_blocking(pipeline: BasePipe[Any, Any], item: Any, backend: str) -> Any:
    """Run the pipeline on one item in this (worker) thread or process."""
    if isinstance(pipeline, SyncBasePipe):
        return pipeline.process(item)
    return anyio.run(pipeline.process, item, backend=backend)  # type: ignore[attr-defined]


# Worker processes --------------------------------------------------------------------------


def _dumps(obj: Any) -> bytes:
    # Pipes pickle with their own attributes and without their monitor (BasePipe does it).
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _pickle_pipeline(pipeline: BasePipe[Any, Any]) -> bytes:
    try:
        return _dumps(pipeline)
    except Exception as exc:
        error = TypeError(
            f"process_pool: the pipeline must be picklable to run in worker processes, "
            f"but pickling it failed ({type(exc).__name__}: {exc}); define pipe classes "
            f"at module level, keep locks, connections and open files out of their "
            f"attributes (open them in the pipe instead), or use the thread_pool strategy"
        )
        error.__cause__ = exc
        raise PipelineError(pipeline, error) from error


def _pickle_items(pipeline: BasePipe[Any, Any], chunk: list[Any], start: int) -> bytes:
    try:
        return _dumps(chunk)
    except Exception as exc:
        error = TypeError(
            f"process_pool: items[{start}:{start + len(chunk)}] must be picklable to go to "
            f"a worker process, but pickling failed ({type(exc).__name__}: {exc}); use the "
            f"thread_pool strategy for such items"
        )
        error.__cause__ = exc
        raise PipelineError(pipeline, error) from error


@attrs.frozen
class _Outcome:
    """What a worker process sends back for one chunk: its outputs, or the failure."""

    outputs: list[Any]
    pipe_index: int | None = None
    stage: str = ""
    error: BaseException | None = None

    def unpack(self, pipeline: BasePipe[Any, Any]) -> list[Any]:
        """Return the outputs, or raise the failure as this process's PipelineError."""
        if self.error is None:
            return self.outputs
        pipe: Any = pipeline if self.stage == pipeline.name else self.stage
        if self.pipe_index is not None:
            pipe = pipeline.pipes[self.pipe_index]  # type: ignore[attr-defined]
        raise PipelineError(pipe, self.error) from self.error


def _portable(error: BaseException) -> BaseException:
    """*error* if it survives pickling, else a RuntimeError that names it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__qualname__}: {error}")
    return error


def _run_chunk(shipped: bytes, chunk: bytes, backend: str) -> _Outcome:
    """Run in a worker process: the pipeline over one chunk, failures returned as data.

    A failure is returned rather than raised because a PipelineError does not survive the
    trip back: it is rebuilt in the parent from the stage and the original error.
    """
    pipeline = pickle.loads(shipped)
    outputs: list[Any] = []
    for item in pickle.loads(chunk):
        try:
            outputs.append(_call_blocking(pipeline, item, backend))
        except Exception as exc:
            failed: BaseException = exc
            stage = pipeline.name
            index = None
            if isinstance(exc, PipelineError) and exc.error is not None:
                failed, stage = exc.error, exc.stage
                index = next((i for i, p in enumerate(pipeline.pipes) if p is exc.pipe), None)
            return _Outcome(outputs, index, stage, _portable(failed))
    return _Outcome(outputs)
