"""How a delivery is signed, and how a receiver checks it (the README's snippet is `verify`)."""

import hashlib
import hmac
import json
import secrets
import time

SECRET_PREFIX = "whsec_"
# A receiver refuses a delivery whose timestamp is older than this (replays).
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent for a payload: the same on every attempt, whatever the storage did to key order."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Taskhub-Signature value: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """What a receiver runs on the raw request body and the X-Taskhub-Timestamp and
    X-Taskhub-Signature headers."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)
