"""Throttles of the public auth endpoints, and the failed-login guard of every login surface.

Counts live in `caches["shared"]` (every web process sees the same ones) and the client is
`core.throttling.client_ip` (X-Forwarded-For only through TRUSTED_PROXY_COUNT proxies).
"""

import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.throttling import SharedCacheThrottleMixin, client_ip


def _account(email) -> str:
    # Digest: no address in cache keys, and a fixed key length whatever was sent.
    return hashlib.sha256(str(email or "").strip().lower().encode()).hexdigest()


def _email_in(request) -> str:
    data = getattr(request, "data", None)
    return data.get("email", "") if hasattr(data, "get") else ""


class AuthFailureThrottle(SharedCacheThrottleMixin, SimpleRateThrottle):
    """Counts failed logins/registrations; a burst of them answers 429.

    Windows, all over the period of THROTTLE_AUTH_RATE: per client IP and email (its rate), so
    failures for one account do not lock the other people behind the same IP (a busy office,
    a CI runner) out of theirs; per IP alone at IP_WIDE_FACTOR times that, against guessing
    across many accounts; and, for logins (`per_account`), per email alone at ACCOUNT_FACTOR
    times that from any number of IPs, so a guess at one account spread over many addresses
    is slowed too (without letting one address lock an account out on its own). Successful
    attempts are never counted.
    """

    scope = "auth"
    IP_WIDE_FACTOR = 5
    ACCOUNT_FACTOR = 3
    per_account = False

    def get_rate(self):
        # Read at request time so a changed setting (or a test override) applies at once.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def _keys(self, ip: str, email) -> list[tuple[str, int]]:
        def key(scope, ident):
            return self.cache_format % {"scope": scope, "ident": ident}

        account = _account(email)
        keys = [
            (key(self.scope, f"{ip}:{account}"), self.num_requests),
            (key(f"{self.scope}-ip", ip), self.num_requests * self.IP_WIDE_FACTOR),
        ]
        if self.per_account and str(email or "").strip():
            keys.append((key(f"{self.scope}-account", account), self.num_requests * self.ACCOUNT_FACTOR))
        return keys

    def _recent(self, history, now):
        return [t for t in history or [] if t > now - self.duration]

    def allows(self, *, ip: str, email) -> bool:
        """False while any window is full; then `wait()` says for how long."""
        if self.rate is None:
            return True
        self.now = self.timer()
        keys = self._keys(ip, email)
        found = self.cache.get_many([key for key, _ in keys])
        for key, limit in keys:
            self.history = self._recent(found.get(key), self.now)
            if len(self.history) >= limit:
                return False
        return True

    def allow_request(self, request, view):
        return self.allows(ip=client_ip(request), email=_email_in(request)) or self.throttle_failure()

    def record(self, *, ip: str, email) -> None:
        if self.rate is None:
            return
        now = self.timer()
        keys = [key for key, _ in self._keys(ip, email)]
        found = self.cache.get_many(keys)
        self.cache.set_many({key: [now, *self._recent(found.get(key), now)] for key in keys}, self.duration)

    def record_failure(self, request, view=None):
        self.record(ip=client_ip(request), email=_email_in(request))

    def wait(self):
        # Until the oldest counted failure leaves the window (history is newest first).
        return self.duration - (self.now - self.history[-1]) if self.history else self.duration


class LoginFailureThrottle(AuthFailureThrottle):
    per_account = True


class RegistrationThrottle(AuthFailureThrottle):
    """THROTTLE_REGISTER_RATE accounts created per client IP; the view records each success."""

    scope = "register"

    def _keys(self, ip: str, email) -> list[tuple[str, int]]:
        return [(self.cache_format % {"scope": self.scope, "ident": ip}, self.num_requests)]

    def record_success(self, request) -> None:
        self.record(ip=client_ip(request), email=None)


class PasswordResetThrottle(AuthFailureThrottle):
    """Reset emails asked for: THROTTLE_PASSWORD_RESET_RATE per address from any IP (no one can
    bury an inbox in reset emails), IP_WIDE_FACTOR times that per client IP. Every request
    counts, for an unknown address too, so the answer tells nothing; the view records each."""

    scope = "password_reset"

    def _keys(self, ip: str, email) -> list[tuple[str, int]]:
        def key(scope, ident):
            return self.cache_format % {"scope": scope, "ident": ident}

        return [
            (key(self.scope, _account(email)), self.num_requests),
            (key(f"{self.scope}-ip", ip), self.num_requests * self.IP_WIDE_FACTOR),
        ]

    def record_request(self, request) -> None:
        self.record_failure(request)


def login_wait(request, email) -> float | None:
    """Seconds until a login for `email` from this client may be tried, or None if it may now.

    For login surfaces outside DRF (the admin's and the browsable API's login forms); they
    share the API login's windows.
    """
    throttle = LoginFailureThrottle()
    if throttle.allows(ip=client_ip(request), email=email):
        return None
    return throttle.wait()


def login_failed(request, email) -> None:
    LoginFailureThrottle().record(ip=client_ip(request), email=email)
