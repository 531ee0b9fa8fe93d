"""Where a webhook may point, and the one HTTP request of a delivery attempt.

SSRF guard: a URL is http(s) and every address its host resolves to is public. The check
runs when a webhook is saved and again before each attempt, and the request then connects
to the very address that was checked (the URL's host goes in the Host header and, for
https, in SNI and the certificate check), so DNS that changes its answer between the check
and the connection (rebinding) cannot steer the request inside.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

USER_AGENT = "Taskhub-Webhooks/1.0"

# Non-public ranges `ipaddress` does not flag by itself (is_global covers the rest).
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("fec0::/10"),  # deprecated IPv6 site-local
]


class UnsafeURL(ValueError):
    """The URL may not be called: not http(s), unresolvable, or reaching a non-public address."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    # What the request line carries: path and query of the URL.
    path: str
    address: str


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _blocked(mapped)
        if address.teredo is not None:
            return True
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        or not address.is_global
    ):
        return True
    return any(address in network for network in _EXTRA_BLOCKED)


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or UnsafeURL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Credentials in the URL are not allowed; authenticate with the signature.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """The URL's target, connected to by the first address; UnsafeURL when any address its host
    resolves to is not public (unless WEBHOOK_ALLOW_PRIVATE_NETWORKS)."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnsafeURL(f"The host {host!r} does not resolve ({exc}).") from None
    addresses = []
    for *_, sockaddr in infos:
        # Strip an IPv6 zone ("fe80::1%eth0"): it would otherwise not parse, and is link-local anyway.
        text = str(sockaddr[0]).split("%", 1)[0]
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise UnsafeURL(f"The host {host!r} does not resolve.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        for text in addresses:
            if _blocked(ipaddress.ip_address(text)):
                raise UnsafeURL(f"The host {host!r} resolves to {text}, which is not a public address.")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


@dataclass(frozen=True)
class Answer:
    status: int | None
    duration_ms: int
    error: str = ""


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to the checked address of `target`; never follows a redirect."""
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host_header = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, server_hostname=target.host, assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED", **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
    started = time.perf_counter()
    try:
        response = pool.urlopen(
            "POST", target.path, body=body, headers={**headers, "Host": host_header, "User-Agent": USER_AGENT},
            redirect=False, preload_content=False, assert_same_host=False,
        )
        # The answer's body is not used; read a little so the connection closes cleanly.
        response.read(64 * 1024)
        response.release_conn()
        return Answer(status=response.status, duration_ms=_ms(started))
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        return Answer(status=None, duration_ms=_ms(started), error=f"{type(exc).__name__}: {reason}"[:500])
    finally:
        pool.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
