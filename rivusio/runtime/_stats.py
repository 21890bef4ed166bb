"""Per-stage counters, cheap enough to be always on."""

from __future__ import annotations

import attrs


@attrs.define(eq=False)
class StageStats:
    """Counters of one stage (or of one pipe inside a fused stage).

    ``items_in == items_out + skipped + dead_lettered + dropped + late`` for a per-item
    step once it has finished; batches and windows change the count on purpose.
    """

    name: str
    items_in: int = 0
    items_out: int = 0
    errors: int = 0
    retries: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    dropped: int = 0
    late: int = 0
    busy_time: float = 0.0
