"""The signature: what the sender puts in X-Taskhub-Signature and the README's receiver check."""

import time
from pathlib import Path

from webhooks.signing import body_bytes, sign, verify

SECRET = "whsec_test"
BODY = body_bytes({"id": "d1", "event": "ping", "created_at": "2026-01-01T00:00:00Z", "data": {"é": 1}})


def _readme_snippet():
    """The receiver's `verify` exactly as README.md prints it (the python block after "A receiver
    verifies a delivery"), run here so the document cannot drift from what the sender does."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = readme[readme.index("A receiver verifies a delivery") :]
    code = after[after.index("```python") + len("```python") : after.index("```", after.index("```python") + 3)]
    namespace = {}
    exec(code, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


readme_verify = _readme_snippet()


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
