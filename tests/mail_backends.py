"""Email backends that worker processes started by tests load by dotted path."""

import time


class HangingEmailBackend:
    """A mail server that never answers, so a test can kill the worker mid-send."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        time.sleep(600)
