"""Wiring of an app's signal receivers, the same way in every app that listens."""

from collections.abc import Callable, Iterable

from django.dispatch import Signal


def connect_receivers(app_label: str, table: Iterable[tuple[Signal, Callable, type]]) -> None:
    """Connect each (signal, receiver, sender) once: dispatch_uid makes a second call a no-op."""
    for signal, receiver, sender in table:
        signal.connect(receiver, sender=sender, dispatch_uid=f"{app_label}.{receiver.__name__}")
