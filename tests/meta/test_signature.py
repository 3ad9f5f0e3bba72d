"""Meta's X-Hub-Signature-256 check, without a request or a database."""

import hashlib
import hmac

import pytest

from apps.meta.signature import signature_valid

SECRET = "app-secret-0123456789"
BODY = b'{"object": "page", "entry": []}'


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_body_signed_with_the_secret_is_valid():
    assert signature_valid(body=BODY, header=_sign(BODY), secret=SECRET) is True


def test_upper_case_hex_and_surrounding_spaces_are_accepted():
    assert signature_valid(body=BODY, header=_sign(BODY).upper().replace("SHA256=", "sha256= "), secret=SECRET)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(_sign(BODY, "another-secret"), id="signed-with-another-secret"),
        pytest.param(_sign(BODY + b" "), id="signed-other-bytes"),
        pytest.param("sha256=" + "0" * 64, id="forged-zeros"),
    ],
)
def test_a_forged_signature_is_refused(header):
    assert signature_valid(body=BODY, header=header, secret=SECRET) is False


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="missing"),
        pytest.param(_sign(BODY).removeprefix("sha256="), id="no-scheme"),
        pytest.param("sha1=" + hashlib.sha1(BODY).hexdigest(), id="other-scheme"),
        pytest.param("sha256=not-hex", id="not-hex"),
        pytest.param("sha256=", id="empty-digest"),
        pytest.param("sha256=" + "é" * 64, id="non-ascii"),
    ],
)
def test_a_missing_or_malformed_header_is_refused(header):
    assert signature_valid(body=BODY, header=header, secret=SECRET) is False


def test_a_channel_without_a_secret_accepts_nothing():
    assert signature_valid(body=BODY, header=_sign(BODY, ""), secret="") is False
