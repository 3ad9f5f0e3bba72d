"""What a file is, decided from its first bytes, never from its name or what the sender declared.

The allow-list is what the inbox and widget exchange; anything else is opaque bytes
(`application/octet-stream`), so a page or script uploaded as "notes.txt" is never served as a document
a browser would render.
"""

from __future__ import annotations

OCTET_STREAM = "application/octet-stream"
HEAD_BYTES = 1024  # enough for every signature below and for spotting markup at the start of a text
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
ALLOWED_TYPES = IMAGE_TYPES | {"application/pdf", "video/mp4", "audio/ogg", "audio/mpeg", "text/plain"}

_PREFIXES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
)
# Markup a browser would render as a page or an image with scripts (HTML, SVG, XML) if it ever sniffed.
_MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg", b"<?xml", b"<object", b"<embed")
_TEXT_CONTROLS = frozenset(b"\t\n\r\f")


def sniff(head: bytes) -> str:
    """The allow-listed type the bytes are, or application/octet-stream."""
    for prefix, mime in _PREFIXES:
        if head.startswith(prefix):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2:  # an MP3 frame: sync bits, layer III
        return "audio/mpeg"
    return "text/plain" if _is_plain_text(head) else OCTET_STREAM


def looks_like_markup(head: bytes) -> bool:
    """True for content a browser could take for HTML, SVG or XML."""
    text = head.lower().lstrip(b"\xef\xbb\xbf \t\r\n\f")
    return text.startswith(b"<") or any(marker in text for marker in _MARKUP)


def _is_plain_text(head: bytes) -> bool:
    if not head or looks_like_markup(head):
        return False
    if any(byte < 0x20 and byte not in _TEXT_CONTROLS for byte in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # only a character cut by the head's end is forgiven
            return False
    return True
