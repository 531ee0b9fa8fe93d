from celery import shared_task


@shared_task(name="core.tasks.ping")
def ping_task():
    """Trivial task used to prove a worker is consuming the broker."""
    return "pong"
