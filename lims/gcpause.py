"""Pause CPython's cyclic garbage collector while a batch of readings is processed.

A 5 000-reading batch allocates hundreds of thousands of container objects (readings, rows,
verdicts, ORM state) that stay alive until its end. Each allocation counts towards the
collector's thresholds, so the batch set off several full (generation 2) collections, and a full
collection walks every tracked object of the process: the reference cache (2 000 markets, 40 000
stalls), SQLAlchemy's mappers, Streamlit's modules. Measured on a 5 000-reading county batch
(SQLite, 200 k results): 0.04–0.37 s of a 1.1–1.5 s batch went to the collector; with it paused
the batch took 0.74–1.06 s (docs/performance.md, "The garbage collector").

Nearly everything a batch allocates is freed by reference counting when the batch ends; the
cycles among it are collected by the next automatic collection after the pause. The pause is
process-wide (the collector has one switch), so it is counted: threads running batches at the
same time (the app's listeners, an API worker's thread pool) re-enable it only when the last of
them leaves, and a collector that was already disabled by the program stays disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_restore = False   # whether the collector was enabled when the first pause began


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with automatic garbage collection off (re-entrant, thread-safe)."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()
