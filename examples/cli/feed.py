"""Print ``orders.jsonl`` one line every 20 ms, like a live feed: ``python feed.py | ...``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

for line in (Path(__file__).parent / "orders.jsonl").read_text().splitlines(keepends=True):
    sys.stdout.write(line)
    sys.stdout.flush()
    time.sleep(0.02)
