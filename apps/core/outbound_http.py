"""Outbound HTTP to URLs someone else chose (webhook payloads, merchant settings): the SSRF guard.

A URL that arrives from outside could name the metadata service, the database or the portal itself.
Every request here resolves its host once, refuses it unless every address is public, and connects to
that checked address (TLS still verifies the certificate for the name and sends it as SNI), so a DNS
answer cannot change between the check and the connection. Redirects are followed by hand, each hop
checked again, and bodies are streamed under a size and a total time cap.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx
from django.conf import settings

from apps.core import inputs

Resolver = Callable[[str, int], list[str]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3


class OutboundError(Exception):
    """A fetch that did not produce an answer; `retryable` says whether trying later may help."""

    retryable = True


class OutboundRefused(OutboundError):
    """The URL, one of its addresses, a redirect or the answer's size is not something we fetch."""

    retryable = False


@dataclass(frozen=True)
class Fetched:
    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (one DNS answer, used for check and connect)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundError(f"{host} does not resolve: {exc.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def new_transport() -> httpx.BaseTransport:
    """The connection layer under the guard (a test routes its fake public hosts to local servers here)."""
    return httpx.HTTPTransport()


def address_is_public(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and shared addresses,
    including IPv4 addresses wrapped in IPv6 (mapped, 6to4, Teredo, NAT64)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None) or _nat64(ip)
        if embedded is not None and not address_is_public(str(embedded)):
            return False
    flags = (ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_multicast, ip.is_reserved, ip.is_unspecified)
    return ip.is_global and not any(flags)


def _nat64(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 gateway would reach for an address in the well-known prefix 64:ff9b::/96."""
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64_PREFIX else None


_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


def host_matches(url: httpx.URL, allowed: Iterable[str]) -> bool:
    """A domain entry admits the domain and its subdomains; an entry with a port admits that host:port only."""
    host, netloc = url.host.lower().rstrip("."), url.netloc.decode("ascii").lower()
    for entry in (a.lower().strip(".") for a in allowed):
        if ":" in entry and netloc == entry:
            return True
        if ":" not in entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def fetch(
    url: str,
    *,
    host_suffixes: Iterable[str] | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int | None = None,
    timeout: float | None = None,
    resolver: Resolver | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """GET url through the guard; `host_suffixes` (None = any public host) limits whom we talk to
    (domains, which admit their subdomains, or exact `host:port` entries).

    Raises OutboundRefused for what must never be retried, OutboundError for transient failures.
    Any HTTP status is returned: the caller knows what an error answer means for its protocol.
    """
    limits = _Limits(
        max_bytes=max_bytes or settings.CHARLA_OUTBOUND_MAX_BYTES,
        deadline=time.monotonic() + (timeout or settings.CHARLA_OUTBOUND_TIMEOUT),
    )
    suffixes = tuple(host_suffixes) if host_suffixes is not None else None
    try:
        with httpx.Client(transport=transport or new_transport(), trust_env=False) as client:
            return _follow(client, httpx.URL(url), dict(headers or {}), suffixes, resolver or system_resolve, limits)
    except httpx.InvalidURL:
        raise OutboundRefused("not a valid URL") from None


def _follow(client, url: httpx.URL, headers: dict, suffixes, resolver: Resolver, limits: _Limits) -> Fetched:
    for _hop in range(MAX_REDIRECTS + 1):
        answer = _get(client, url, headers, suffixes, resolver, limits)
        location = answer.headers.get("location")
        if answer.status_code not in REDIRECT_STATUSES or not location:
            return answer
        following = url.join(location)
        if following.host != url.host:
            # Credentials were meant for the first host only (httpx drops them the same way).
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        url = following
    raise OutboundRefused(f"more than {MAX_REDIRECTS} redirects")


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    deadline: float

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OutboundError("the answer took longer than the time allowed")
        return left


def _get(client, url: httpx.URL, headers: dict, suffixes, resolver: Resolver, limits: _Limits) -> Fetched:
    address = _checked_address(url, suffixes, resolver)
    host_header = url.netloc.decode("ascii")
    request = client.build_request(
        "GET",
        url.copy_with(host=address),
        headers={**headers, "Host": host_header},
        extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
        timeout=httpx.Timeout(limits.remaining()),
    )
    try:
        response = client.send(request, stream=True)
        try:
            content = b"" if response.status_code in REDIRECT_STATUSES else _read_capped(response, limits)
        finally:
            response.close()
    except httpx.TimeoutException:
        raise OutboundError("the answer took longer than the time allowed") from None
    except httpx.HTTPError as exc:
        raise OutboundError(f"connection error: {exc.__class__.__name__}") from None
    return Fetched(url=str(url), status_code=response.status_code, headers=response.headers, content=content)


def _checked_address(url: httpx.URL, suffixes, resolver: Resolver) -> str:
    """The one address to connect to for url, after checking the scheme, the host and every address."""
    allow_private = settings.CHARLA_OUTBOUND_ALLOW_PRIVATE
    if url.scheme != "https" and not (allow_private and url.scheme == "http"):
        raise OutboundRefused(f"only https URLs are fetched, not {url.scheme or 'a relative URL'}")
    if not url.host:
        raise OutboundRefused("the URL has no host")
    if suffixes is not None and not host_matches(url, suffixes):
        raise OutboundRefused(f"{url.netloc.decode('ascii')} is not a host we fetch from")
    addresses = _literal(url.host) or resolver(url.host, url.port or (443 if url.scheme == "https" else 80))
    if not addresses:
        raise OutboundError(f"{url.host} has no address")
    refused = [a for a in addresses if not address_is_public(a)]
    if refused and not allow_private:
        raise OutboundRefused(f"{url.host} resolves to a non-public address ({refused[0]})")
    return addresses[0]


def _literal(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return []


def _read_capped(response: httpx.Response, limits: _Limits) -> bytes:
    declared = response.headers.get("content-length", "")
    if inputs.is_ascii_digits(declared) and int(declared) > limits.max_bytes:
        raise OutboundRefused(f"the answer is larger than {limits.max_bytes} bytes")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise OutboundRefused(f"the answer is larger than {limits.max_bytes} bytes")
        limits.remaining()
        chunks.append(chunk)
    return b"".join(chunks)
