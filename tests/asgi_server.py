"""The real ASGI app (portal.asgi, WebSockets included) under uvicorn in a thread of the test process.

Browser tests need a server that speaks WebSockets; Django's live_server does not. The thread shares
the process, so it uses the pytest database and whatever settings the test has overridden.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortalServer:
    """stop() and start() again on the same port to cut every socket."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(
            "portal.asgi:application", host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, 10, interval=0.05, what="uvicorn to start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def portal_server() -> Iterator[PortalServer]:
    server = PortalServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
