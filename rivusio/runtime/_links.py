"""Links: the bounded channels between stages.

A link is an anyio memory object stream carrying *chunks* (lists of items), so that the
cost of waking the next stage is paid once per chunk instead of once per item. Bounds and
statistics count items.

The sender gathers items in ``pending`` and sends a chunk when it is full or when the
receiver is waiting. A receiver that finds the channel empty takes ``pending`` directly, so
an item never waits in a half-filled chunk while the next stage is idle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic

import anyio
import anyio.lowlevel
import attrs
from anyio import WouldBlock

from ..core._types import T

if TYPE_CHECKING:
    from collections.abc import Callable

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

MAX_CHUNK = 256
"""The most items a chunk carries."""


def chunk_size_for(max_buffer_size: int) -> int:
    """Pick a chunk size so that a full channel holds at most *max_buffer_size* items."""
    return max(1, min(MAX_CHUNK, max_buffer_size // 4))


@attrs.frozen
class LinkStatistics:
    """A snapshot of one link, read by metrics.

    Attributes:
        buffered: Items waiting in the channel (not counting the sender's open chunk).
        capacity: The most items the channel holds (the stage's ``max_buffer_size``).
        items_sent: Items handed to the channel or taken by the receiver in total.
        dropped: Items dropped by the overflow policy.
        blocked_time: Seconds the sender spent waiting for room (backpressure).
        pressure_episodes: How often the fill rose to the throttle threshold.
    """

    buffered: int
    capacity: int
    items_sent: int
    dropped: int
    blocked_time: float
    pressure_episodes: int


@attrs.define(eq=False)
class Link(Generic[T]):
    """A bounded, chunked channel from one stage (or the source) to the next.

    Args:
        name: The receiving stage's name, used in messages.
        capacity: ``max_buffer_size`` in items; 0 means the sender waits for the receiver.
        overflow: ``"block"`` (wait for room), ``"drop_oldest"``, ``"drop_newest"`` or
            ``"error"``.
        throttle_threshold: Fill fraction from which each send is paced.
        min_processing_time: Seconds of pacing per item while under pressure.
    """

    name: str
    capacity: int
    overflow: str = "block"
    throttle_threshold: float = 1.0
    min_processing_time: float = 0.0
    chunk: int = attrs.field(init=False)
    pending: list[T] = attrs.field(init=False, factory=list)
    receiver_waiting: bool = attrs.field(init=False, default=False)
    buffered: int = attrs.field(init=False, default=0)
    items_sent: int = attrs.field(init=False, default=0)
    dropped: int = attrs.field(init=False, default=0)
    blocked_time: float = attrs.field(init=False, default=0.0)
    pressure_episodes: int = attrs.field(init=False, default=0)
    _under_pressure: bool = attrs.field(init=False, default=False)
    _receiver_closed: bool = attrs.field(init=False, default=False)
    #: Called when the receiver has taken the last item (the runner's hook).
    on_end: Callable[[], None] | None = attrs.field(init=False, default=None)
    _send: MemoryObjectSendStream[list[T]] = attrs.field(init=False)
    _receive: MemoryObjectReceiveStream[list[T]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # Overflow policies act on single items, so a dropping link carries one item per
        # chunk; a blocking link uses chunks small enough that a full channel stays within
        # `capacity` items.
        self.chunk = 1 if self.overflow != "block" else chunk_size_for(self.capacity)
        slots = self.capacity // self.chunk
        self._send, self._receive = anyio.create_memory_object_stream[list[T]](slots)

    # -- sending side ---------------------------------------------------------------

    async def put(self, item: T) -> None:
        """Send one item; waits only when a chunk must go out and the channel is full."""
        pending = self.pending
        pending.append(item)
        if len(pending) >= self.chunk or self.receiver_waiting:
            await self.flush()

    async def put_many(self, items: list[T]) -> None:
        """Send *items* in order; the list may be kept, so the caller must not reuse it."""
        if self.pending:
            self.pending.extend(items)
        else:
            self.pending = items
        if len(self.pending) >= self.chunk or self.receiver_waiting:
            await self.flush()

    async def flush(self) -> None:
        """Send every pending item, waiting for room when the overflow policy blocks."""
        while self.pending:
            size = self.chunk
            if self._pressure_rising() and self.min_processing_time:
                # Pace before taking the chunk out of `pending`: while we sleep, an idle
                # receiver may take `pending` itself, and must find it whole and in order.
                await anyio.sleep(self.min_processing_time * min(size, len(self.pending)))
                if not self.pending:
                    return
            if len(self.pending) <= size:
                chunk, self.pending = self.pending, []
            else:
                chunk, self.pending = self.pending[:size], self.pending[size:]
            await self._send_chunk(chunk)

    async def _send_chunk(self, chunk: list[T]) -> None:
        count = len(chunk)
        self.buffered += count
        try:
            self._send.send_nowait(chunk)
            # A waiting receiver has just been served: gather full chunks again until it
            # waits anew, rather than sending one item at a time.
            self.receiver_waiting = False
        except WouldBlock:
            if self.overflow == "block":
                started = anyio.current_time()
                try:
                    await self._send.send(chunk)
                except BaseException:
                    self.buffered -= count
                    raise
                finally:
                    self.blocked_time += anyio.current_time() - started
            else:
                self.buffered -= count
                self._overflow(chunk)
                # A dropping sender never waits, so it yields here: otherwise a source that
                # never awaits would starve the very stage it is overflowing.
                await anyio.lowlevel.checkpoint()
                return
        except BaseException:
            self.buffered -= count
            raise
        self.items_sent += count

    def _pressure_rising(self) -> bool:
        under = self.buffered >= self.throttle_threshold * self.capacity
        if under and not self._under_pressure:
            self.pressure_episodes += 1
        self._under_pressure = under
        return under

    def _overflow(self, chunk: list[T]) -> None:
        if self.overflow == "error":
            raise BufferError(
                f"stage {self.name!r}: input buffer is full ({self.capacity} items) and its "
                f"overflow policy is 'error'; raise max_buffer_size or choose 'block', "
                f"'drop_oldest' or 'drop_newest'"
            )
        self.dropped += 1
        if self.overflow == "drop_oldest":
            try:
                self._receive.receive_nowait()
            except WouldBlock:  # capacity 0: nothing is ever buffered to drop
                return
            self._send.send_nowait(chunk)
            self.items_sent += 1

    def close_sender(self) -> None:
        """Close the sending side; the receiver sees the end after the buffered items."""
        self._send.close()

    async def aclose_sender(self) -> None:
        """Flush pending items, then close the sending side."""
        try:
            await self.flush()
        finally:
            self._send.close()

    # -- receiving side -------------------------------------------------------------

    async def get(self) -> list[T]:
        """Receive the next chunk (never empty).

        Raises:
            anyio.EndOfStream: The sender closed the link and every item was received.
        """
        try:
            chunk = self._receive.receive_nowait()
        except WouldBlock:
            if self.pending:
                chunk, self.pending = self.pending, []
                self.items_sent += len(chunk)
                return chunk
            self.receiver_waiting = True
            try:
                chunk = await self._receive.receive()
            except anyio.EndOfStream:
                self._ended()
                raise
            finally:
                self.receiver_waiting = False
        except anyio.EndOfStream:
            self._ended()
            raise
        self.buffered -= len(chunk)
        return chunk

    def _ended(self) -> None:
        if self.on_end is not None:
            self.on_end()

    @property
    def receiver_closed(self) -> bool:
        """Whether the receiving stage has stopped reading."""
        return self._receiver_closed

    def close_receiver(self) -> None:
        """Stop receiving; the sender's next send raises ``anyio.BrokenResourceError``."""
        self._receiver_closed = True
        self.pending.clear()
        self._receive.close()

    def statistics(self) -> LinkStatistics:
        """Return a snapshot of this link's fill and counters."""
        return LinkStatistics(
            buffered=self.buffered,
            capacity=self.capacity,
            items_sent=self.items_sent,
            dropped=self.dropped,
            blocked_time=self.blocked_time,
            pressure_episodes=self.pressure_episodes,
        )
