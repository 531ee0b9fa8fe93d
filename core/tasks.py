from celery import shared_task


@shared_task
def ping():
    """Trivial task used to prove a worker is consuming the broker."""
    return "pong"
