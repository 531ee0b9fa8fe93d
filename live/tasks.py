from celery import shared_task

from .services import events_purge


@shared_task(name="live.tasks.purge_events_task", ignore_result=True)
def purge_events_task() -> int:
    return events_purge()
