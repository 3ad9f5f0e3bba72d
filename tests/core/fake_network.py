"""Fake hosts on the network for the outbound guard: real local HTTP servers that count every connection.

    host = fake_hosts()                                   # a server on 127.0.0.1 (an "internal service")
    host.route("/x", body=b"...", status=200, headers={}) # what it answers
    fake_network.public("scontent.xx.fbcdn.net", host)    # a public name and address routed to that server

The guard resolves through `fake_network.resolve` and connects through a transport that sends the fake
public addresses to their local server (https becomes plain http there: the fake has no certificate).
Everything else goes out as it would in production, so a request the guard should have refused still
reaches the local server and shows up in `connections`.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from apps.core import outbound_http


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before each chunk of the body
    chunked: bool = False


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def verify_request(self, request, client_address) -> bool:
        with self.owner.lock:
            self.owner.connections += 1  # counted before any byte is read: TLS attempts count too
        return True


class FakeHost:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[dict] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.server = _CountingServer(("127.0.0.1", 0), self._handler())
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default), per host, per test.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def route(self, path: str, **kwargs) -> None:
        self.routes[path] = Route(**kwargs)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with outer.lock:
                    outer.requests.append(
                        {"path": self.path, "host": self.headers.get("Host"), "auth": self.headers.get("Authorization")}
                    )
                route = outer.routes.get(self.path.split("?")[0], Route(status=404, body=b"not here"))
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self._body(route)

            def _body(self, route: Route) -> None:
                chunks = [route.body[i : i + 512] for i in range(0, len(route.body), 512)]
                try:
                    for chunk in chunks:
                        time.sleep(route.delay)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if route.chunked else chunk)
                        self.wfile.flush()
                    if route.chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the guard hung up on purpose (too large, too slow)

        return Handler


class FakeNetwork:
    """Public names → public addresses → local fake hosts."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.routes: dict[str, FakeHost] = {}
        self._addresses = (f"157.240.{n // 250}.{n % 250 + 1}" for n in itertools.count())  # Meta's own range

    def public(self, name: str, host: FakeHost) -> str:
        address = next(self._addresses)
        self.names[name] = [address]
        self.routes[address] = host
        return address

    def resolves_to(self, name: str, *addresses: str) -> None:
        """A DNS answer as an attacker would set it up (e.g. a public-looking name → 127.0.0.1)."""
        self.names[name] = list(addresses)

    def resolve(self, host: str, port: int) -> list[str]:
        if host not in self.names:
            raise outbound_http.OutboundError(f"{host} does not resolve (fake network)")
        return self.names[host]

    def transport(self) -> httpx.BaseTransport:
        return _RoutedTransport(self)


class _RoutedTransport(httpx.BaseTransport):
    def __init__(self, network: FakeNetwork) -> None:
        self.network = network
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = self.network.routes.get(request.url.host)
        if host is not None:
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=host.port)
            request.extensions = {k: v for k, v in request.extensions.items() if k != "sni_hostname"}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def fake_hosts():
    hosts: list[FakeHost] = []

    def make() -> FakeHost:
        hosts.append(FakeHost())
        return hosts[-1]

    yield make
    for host in hosts:
        host.close()


@pytest.fixture
def fake_network(monkeypatch) -> FakeNetwork:
    network = FakeNetwork()
    monkeypatch.setattr(outbound_http, "system_resolve", network.resolve)
    monkeypatch.setattr(outbound_http, "new_transport", network.transport)
    return network
