"""The outbound guard against real local servers: what it refuses never gets a connection."""

import pytest

from apps.core import outbound_http
from apps.core.outbound_http import OutboundError, OutboundRefused, address_is_public, fetch

META = ("fbcdn.net", "fbsbx.com")


@pytest.fixture(autouse=True)
def guard_on(settings):
    settings.CHARLA_OUTBOUND_ALLOW_PRIVATE = False
    settings.CHARLA_OUTBOUND_MAX_BYTES = 10_000
    settings.CHARLA_OUTBOUND_TIMEOUT = 5.0


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.251", "255.255.255.255", "240.0.0.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1", "2001:db8::1", "64:ff9b::a9fe:a9fe",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address):
    assert address_is_public(address) is False


@pytest.mark.parametrize("address", ["157.240.22.35", "31.13.64.1", "2a03:2880:f10c:83:face:b00c:0:25de"])
def test_public_addresses_are_allowed(address):
    assert address_is_public(address) is True


def test_fetches_from_an_allowed_public_host_by_its_checked_address(fake_hosts, fake_network):
    cdn = fake_hosts()
    cdn.route("/v/photo.jpg", body=b"\xff\xd8\xffjpeg", headers={"Content-Type": "image/jpeg"})
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    fetched = fetch("https://scontent.xx.fbcdn.net/v/photo.jpg", host_suffixes=META)
    assert (fetched.status_code, fetched.content, fetched.content_type) == (200, b"\xff\xd8\xffjpeg", "image/jpeg")
    # The connection went to the resolved address; the name travelled in Host (and SNI).
    assert cdn.requests == [{"path": "/v/photo.jpg", "host": "scontent.xx.fbcdn.net", "auth": None}]


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://scontent.xx.fbcdn.net/v/photo.jpg", "only https URLs are fetched, not http"),
        ("https://evil.example/v/photo.jpg", "evil.example is not a host we fetch from"),
        ("https://fbcdn.net.evil.example/x", "fbcdn.net.evil.example is not a host we fetch from"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a host we fetch from"),
        ("file:///etc/passwd", "only https URLs are fetched, not file"),
        ("https://a.fbcdn.net:abc/x", "not a valid URL"),
        ("https://[::1/x", "not a valid URL"),
    ],
)
def test_urls_off_the_allowed_hosts_or_scheme_are_refused(fake_network, url, reason):
    with pytest.raises(OutboundRefused) as refused:
        fetch(url, host_suffixes=META)
    assert str(refused.value) == reason
    assert refused.value.retryable is False


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["157.240.0.9", "10.1.2.3"], ["::ffff:127.0.0.1"]])
def test_an_allowed_name_resolving_to_a_private_address_gets_no_connection(fake_hosts, fake_network, answer):
    internal = fake_hosts()
    internal.route("/secret", body=b"internal only")
    fake_network.resolves_to("rebind.fbcdn.net", *answer)
    with pytest.raises(OutboundRefused) as refused:
        fetch(f"https://rebind.fbcdn.net:{internal.port}/secret", host_suffixes=META)
    assert "resolves to a non-public address" in str(refused.value)
    assert internal.connections == 0


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/secret",
        "https://127.0.0.1:{port}/secret",
        "https://internal.fbcdn.net:{port}/secret",  # resolves to 127.0.0.1
        "https://[::ffff:127.0.0.1]:{port}/secret",
    ],
)
def test_a_redirect_to_a_private_address_is_refused_before_connecting(fake_hosts, fake_network, location):
    cdn, internal = fake_hosts(), fake_hosts()
    internal.route("/secret", body=b"internal only")
    cdn.route("/v/photo.jpg", status=302, headers={"Location": location.format(port=internal.port)})
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    fake_network.resolves_to("internal.fbcdn.net", "127.0.0.1")
    with pytest.raises(OutboundRefused):
        fetch("https://scontent.xx.fbcdn.net/v/photo.jpg", host_suffixes=META)
    assert len(cdn.requests) == 1
    assert internal.connections == 0


def test_a_redirect_to_another_allowed_host_is_followed_without_our_credentials(fake_hosts, fake_network):
    first, second = fake_hosts(), fake_hosts()
    first.route("/m", status=302, headers={"Location": "https://cdn.fbsbx.com/file?x=1"})
    second.route("/file", body=b"%PDF-1.4 doc", headers={"Content-Type": "application/pdf"})
    fake_network.public("lookaside.fbsbx.com", first)
    fake_network.public("cdn.fbsbx.com", second)
    fetched = fetch("https://lookaside.fbsbx.com/m", host_suffixes=META, headers={"Authorization": "Bearer T"})
    assert fetched.content == b"%PDF-1.4 doc" and fetched.url == "https://cdn.fbsbx.com/file?x=1"
    assert first.requests[0]["auth"] == "Bearer T"
    assert second.requests == [{"path": "/file?x=1", "host": "cdn.fbsbx.com", "auth": None}]


def test_more_than_three_redirects_are_refused(fake_hosts, fake_network):
    cdn = fake_hosts()
    for hop in range(5):
        cdn.route(f"/{hop}", status=302, headers={"Location": f"/{hop + 1}"})
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    with pytest.raises(OutboundRefused) as refused:
        fetch("https://scontent.xx.fbcdn.net/0", host_suffixes=META)
    assert str(refused.value) == "more than 3 redirects"
    assert [r["path"] for r in cdn.requests] == ["/0", "/1", "/2", "/3"]


@pytest.mark.parametrize("chunked", [False, True])  # a declared length, and a body that only grows
def test_an_answer_over_the_size_cap_is_refused(fake_hosts, fake_network, chunked):
    cdn = fake_hosts()
    cdn.route("/big", body=b"x" * 20_000, chunked=chunked)
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    with pytest.raises(OutboundRefused) as refused:
        fetch("https://scontent.xx.fbcdn.net/big", host_suffixes=META)
    assert str(refused.value) == "the answer is larger than 10000 bytes"


def test_an_answer_at_the_size_cap_is_kept(fake_hosts, fake_network):
    cdn = fake_hosts()
    cdn.route("/exact", body=b"x" * 10_000, chunked=True)
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    assert len(fetch("https://scontent.xx.fbcdn.net/exact", host_suffixes=META).content) == 10_000


def test_a_slow_answer_is_cut_at_the_total_time_cap(fake_hosts, fake_network, settings):
    settings.CHARLA_OUTBOUND_TIMEOUT = 0.6
    cdn = fake_hosts()
    cdn.route("/drip", body=b"x" * 2048, delay=0.25, chunked=True)  # each read is quick, the whole is not
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    with pytest.raises(OutboundError) as failed:
        fetch("https://scontent.xx.fbcdn.net/drip", host_suffixes=META)
    assert str(failed.value) == "the answer took longer than the time allowed"
    assert failed.value.retryable is True


def test_the_operator_setting_allows_http_and_private_addresses(fake_hosts, settings):
    settings.CHARLA_OUTBOUND_ALLOW_PRIVATE = True
    local = fake_hosts()
    local.route("/ok", body=b"local")
    assert fetch(f"{local.url}/ok", host_suffixes=(f"127.0.0.1:{local.port}",)).content == b"local"
    with pytest.raises(OutboundRefused):  # the host list still holds: another port is another host
        fetch(f"http://127.0.0.1:{local.port + 1}/ok", host_suffixes=(f"127.0.0.1:{local.port}",))


def test_the_system_resolver_answers_every_address_of_a_name():
    assert outbound_http.system_resolve("localhost", 443)[0] in ("127.0.0.1", "::1")


# --------------------------------------------------------------------------- real TLS to the checked address
def _certificate(tmp_path, name: str):
    """A self-signed certificate for `name` (key and cert files) and an SSL context trusting only it."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    return server_context, ssl.create_default_context(cafile=str(cert_file))


@pytest.fixture
def tls_cdn(fake_hosts, tmp_path, settings):
    """An https server on 127.0.0.1 holding a certificate for scontent.xx.fbcdn.net only."""
    import httpx

    settings.CHARLA_OUTBOUND_ALLOW_PRIVATE = True  # the server is on loopback; the TLS is what is under test
    server_context, client_context = _certificate(tmp_path, "scontent.xx.fbcdn.net")
    host = fake_hosts()
    host.server.socket = server_context.wrap_socket(host.server.socket, server_side=True)
    host.route("/v/photo.jpg", body=b"\xff\xd8\xffjpeg")
    return host, httpx.HTTPTransport(verify=client_context)


def test_tls_is_verified_for_the_name_while_connecting_to_the_checked_address(tls_cdn):
    host, transport = tls_cdn
    fetched = fetch(
        f"https://scontent.xx.fbcdn.net:{host.port}/v/photo.jpg",
        host_suffixes=META,
        resolver=lambda name, port: ["127.0.0.1"],
        transport=transport,
    )
    assert fetched.content == b"\xff\xd8\xffjpeg"
    assert host.requests[0]["host"] == f"scontent.xx.fbcdn.net:{host.port}"


def test_a_certificate_for_another_name_is_refused(tls_cdn):
    host, transport = tls_cdn
    with pytest.raises(OutboundError) as failed:
        fetch(
            f"https://video.xx.fbcdn.net:{host.port}/v/photo.jpg",
            host_suffixes=META,
            resolver=lambda name, port: ["127.0.0.1"],
            transport=transport,
        )
    assert str(failed.value) == "connection error: ConnectError"
    assert host.requests == []
