"""The signature: what the sender puts in X-Taskhub-Signature and the README's receiver check."""

import hashlib
import hmac
import time

from webhooks.signing import body_bytes, sign, verify

SECRET = "whsec_test"
BODY = body_bytes({"id": "d1", "event": "ping", "created_at": "2026-01-01T00:00:00Z", "data": {"é": 1}})


def readme_verify(secret: str, body: bytes, timestamp: str, signature: str) -> bool:
    """The README snippet, verbatim in logic: HMAC of "{timestamp}.{body}", constant-time
    compare, timestamps older than 5 minutes refused."""
    if abs(time.time() - int(timestamp)) > 300:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def test_a_signed_body_verifies_with_the_readme_snippet_and_the_helper():
    timestamp = str(int(time.time()))
    signature = sign(SECRET, timestamp, BODY)

    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert readme_verify(SECRET, BODY, timestamp, signature)
    assert verify(SECRET, BODY, timestamp, signature)


def test_a_changed_body_timestamp_or_secret_fails():
    timestamp = str(int(time.time()))
    signature = sign(SECRET, timestamp, BODY)

    assert not verify(SECRET, BODY + b" ", timestamp, signature)
    assert not verify("whsec_other", BODY, timestamp, signature)
    assert not verify(SECRET, BODY, str(int(timestamp) + 1), signature)
    assert not readme_verify(SECRET, BODY.replace(b"ping", b"pong"), timestamp, signature)


def test_a_timestamp_older_than_five_minutes_is_refused_even_when_signed():
    old = str(int(time.time()) - 301)

    assert not verify(SECRET, BODY, old, sign(SECRET, old, BODY))
    assert not readme_verify(SECRET, BODY, old, sign(SECRET, old, BODY))
    assert not verify(SECRET, BODY, "not-a-number", sign(SECRET, "not-a-number", BODY))


def test_the_body_is_the_same_bytes_whatever_the_key_order():
    assert body_bytes({"b": 1, "a": [1, 2]}) == body_bytes({"a": [1, 2], "b": 1}) == b'{"a":[1,2],"b":1}'
