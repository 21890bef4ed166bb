"""The one backend-specific module: hosting a runner behind a bare ``async for``.

Two things live here because anyio has no portable way to do them: starting a task that
outlives the caller's scope, and making the results generator close itself when a consumer
abandons it.

``async for r in stream.through(pipe)`` gives rivusio no ``async with`` block to own a task
group in, and the consumer may leave the loop at any time. The runner therefore runs in a
task of its own, owned by the event loop rather than by the consumer's task: an asyncio
task on asyncio, a system task on trio. anyio offers no portable way to start a task that
outlives the caller's scope, which is why this module touches the backends directly (SPEC
section 10). The hosted function must not raise: the runner records its failures instead.
"""

from __future__ import annotations

import contextvars
import sys
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable

T = TypeVar("T")

_running: set[Any] = set()
"""Strong references to hosted asyncio tasks, which the loop itself only holds weakly."""


def _in_trio() -> bool:
    trio = sys.modules.get("trio")
    return trio is not None and bool(trio.lowlevel.in_trio_run())


def spawn_detached(fn: Callable[[], Awaitable[None]], name: str) -> None:
    """Start ``fn()`` in a task owned by the running event loop, not by the caller."""
    if _in_trio():
        import trio

        trio.lowlevel.spawn_system_task(fn, name=name, context=contextvars.copy_context())
        return
    import asyncio

    async def main() -> None:
        await fn()

    task = asyncio.get_running_loop().create_task(main(), name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)


def close_on_drop(agen: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    """Make *agen* close itself the moment it is dropped, with no event-loop hook involved.

    The results of a stream are an async generator, because ``async for`` over one runs at
    C speed. A consumer that ``break``s drops it half-way. Normally the event loop's
    async-generator hooks then finalize it later (and trio warns about it); a generator
    whose first step ran with no hooks installed is instead closed by CPython itself,
    synchronously, right when its last reference goes. Its ``finally`` clause cancels the
    stream. *agen* must begin with a bare ``yield`` (consumed here, before the caller sees
    the generator) and must not ``await`` in its ``finally`` clause.
    """
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=None, finalizer=None)
    try:
        agen.asend(None).send(None)
    except StopIteration:
        pass
    finally:
        sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=hooks.finalizer)
    return agen
