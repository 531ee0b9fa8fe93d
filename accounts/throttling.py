from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class AuthFailureThrottle(SimpleRateThrottle):
    """Counts failed logins/registrations; a burst of them answers 429.

    Two windows: per client IP and email (the rate of THROTTLE_AUTH_RATE), so failures for
    one account do not lock the other people behind the same IP (a busy office, a CI runner)
    out of theirs; and per IP alone at IP_WIDE_FACTOR times that rate, against guessing
    across many accounts. Successful attempts are never counted.
    """

    scope = "auth"
    IP_WIDE_FACTOR = 5

    def get_rate(self):
        # Read at request time so a changed setting (or a test override) applies at once.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def _keys(self, request):
        ip = self.get_ident(request)
        email = request.data.get("email", "") if hasattr(request.data, "get") else ""
        account = f"{ip}:{str(email).strip().lower()}"
        return (
            (self.cache_format % {"scope": self.scope, "ident": account}, self.num_requests),
            (self.cache_format % {"scope": f"{self.scope}-ip", "ident": ip}, self.num_requests * self.IP_WIDE_FACTOR),
        )

    def _recent(self, key, now):
        return [t for t in self.cache.get(key, []) if t > now - self.duration]

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.now = self.timer()
        for key, limit in self._keys(request):
            self.history = self._recent(key, self.now)
            if len(self.history) >= limit:
                return self.throttle_failure()
        return True

    def record_failure(self, request, view):
        if self.rate is None:
            return
        now = self.timer()
        for key, _ in self._keys(request):
            self.cache.set(key, [now, *self._recent(key, now)], self.duration)

    def wait(self):
        # Until the oldest counted failure leaves the window (history is newest first).
        return self.duration - (self.now - self.history[-1]) if self.history else self.duration
