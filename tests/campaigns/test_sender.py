"""The streaming sender on its own: a real aiohttp session against the fake Graph API, the ledger
callbacks replaced by plain functions on real threads (as SendSession runs them)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from apps.meta.batch import THROUGHPUT_PAUSE, BatchSender, payload_bytes
from tests.fakes.graph import THROUGHPUT, FakeGraph


@pytest.fixture
def threads():
    feeder = ThreadPoolExecutor(max_workers=1)
    recorder = ThreadPoolExecutor(max_workers=1)
    yield feeder, recorder
    feeder.shutdown()
    recorder.shutdown()


def _bodies(n: int) -> list[tuple[int, bytes]]:
    return [(i, payload_bytes({"messaging_product": "whatsapp", "to": f"3460000{i:04d}", "type": "template"}))
            for i in range(n)]  # fmt: skip


class Feed:
    """Hands out the items a block at a time and notes what the fake was answering at that moment."""

    def __init__(self, items, fake, fail_after_blocks=None):
        self.items, self.fake, self.fail_after_blocks = list(items), fake, fail_after_blocks
        self.blocks: list[tuple[int, int, int]] = []  # (slots offered, block size, requests at the fake)

    def __call__(self, free: int):
        if self.fail_after_blocks is not None and len(self.blocks) == self.fail_after_blocks:
            raise RuntimeError("the database went away")
        block, self.items = self.items[:free], self.items[free:]
        self.blocks.append((free, len(block), self.fake.in_flight))
        return block


def test_never_more_in_flight_than_the_pool_and_every_outcome_recorded_once(threads):
    fake = FakeGraph(latency=0.05)
    recorded = []
    try:
        feed = Feed(_bodies(120), fake)
        with BatchSender(url=f"{fake.url}/1/messages", headers={}, concurrency=8) as sender:
            sender.stream(next_block=feed, record=recorded.extend, feeder=threads[0], recorder=threads[1])
    finally:
        fake.close()
    assert fake.max_in_flight <= 8
    assert len(fake.requests) == 120
    assert sorted(o.delivery_id for o in recorded) == list(range(120))
    assert {o.kind for o in recorded} == {"sent"}
    # A block never asks for more than the free slots, so a stamped delivery is on the wire at once.
    assert all(size <= offered and busy + size <= 8 for offered, size, busy in feed.blocks[:-1])
    assert len(feed.blocks) > 120 / 8  # many blocks, not one burst


def test_a_failing_feed_still_lets_stamped_requests_finish_and_be_recorded(threads):
    fake = FakeGraph(latency=0.05)
    recorded = []
    try:
        feed = Feed(_bodies(40), fake, fail_after_blocks=1)
        with (
            BatchSender(url=f"{fake.url}/1/messages", headers={}, concurrency=10) as sender,
            pytest.raises(RuntimeError, match="database went away"),
        ):
            sender.stream(next_block=feed, record=recorded.extend, feeder=threads[0], recorder=threads[1])
    finally:
        fake.close()
    assert len(fake.requests) == 10
    assert sorted(o.delivery_id for o in recorded) == list(range(10))


def test_a_throughput_error_holds_new_requests_back(threads):
    fake = FakeGraph()
    fake.errors_once["34600000000"] = THROUGHPUT
    recorded = []
    started: list[float] = []
    lock = threading.Lock()
    items = _bodies(3)

    def feed(free: int):
        with lock:
            if not items:
                return None
            started.append(time.monotonic())
            return [items.pop(0)]  # one at a time, so the second waits for the first's answer

    try:
        with BatchSender(url=f"{fake.url}/1/messages", headers={}, concurrency=1) as sender:
            sender.stream(next_block=feed, record=recorded.extend, feeder=threads[0], recorder=threads[1])
    finally:
        fake.close()
    assert [o.kind for o in recorded] == ["throttled", "sent", "sent"]
    assert started[1] - started[0] >= THROUGHPUT_PAUSE * 0.9
    assert started[2] - started[1] < THROUGHPUT_PAUSE / 2


def test_without_threads_blocks_go_out_in_turn(threads):
    fake = FakeGraph()
    recorded = []
    try:
        feed = Feed(_bodies(25), fake)
        with BatchSender(url=f"{fake.url}/1/messages", headers={}, concurrency=10) as sender:
            sender.stream(next_block=feed, record=recorded.extend, feeder=None, recorder=None)
    finally:
        fake.close()
    assert [size for _, size, _ in feed.blocks] == [10, 10, 5, 0]
    assert sorted(o.delivery_id for o in recorded) == list(range(25))
