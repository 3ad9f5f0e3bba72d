"""Crash drills: park a test worker at a named point of the send path so a test can SIGKILL it there.

A worker started with CAMPAIGNS_DRILL_PARK="<point>:<n>" stops for good (sleeps) at `<point>` once
that many deliveries have passed it in this process. Points: "stamp" (a block is about to be
stamped `dispatched_at`) and "record" (answered outcomes are about to be written). Timing alone
cannot land a kill between two statements reliably on a busy machine; this can. Unset (everywhere
but the crash tests) it costs one environment read per block.
"""

from __future__ import annotations

import os
import threading
import time

ENV = "CAMPAIGNS_DRILL_PARK"
_passed: dict[str, int] = {}
_lock = threading.Lock()


def checkpoint(point: str, count: int) -> None:
    """`count` deliveries are about to pass `point`; park here for good when the drill says so."""
    spec = os.environ.get(ENV, "")
    if not spec:
        return
    name, _, after = spec.partition(":")
    if name != point:
        return
    with _lock:
        _passed[point] = _passed.get(point, 0) + count
        due = _passed[point] >= int(after or 0)
    while due:  # the test kills the process here
        time.sleep(3600)
