"""`chaos.record_run`: a task-API job whose side effect the chaos bench can count.

Each run adds one to its execution's row in `chaos_side_effects` (created by bench/chaos.py),
committed at once like a call to another system would be, so a body that ran twice for one
execution shows `runs = 2`. It works a little before and after, so a kill -9 can land on
either side of the side effect.
"""

import os
import time

from celery import current_task, shared_task
from django.db import connection

from task_api.decorators import api_task
from task_api.services.lifecycle import execution_id_of

RECORD = """
    INSERT INTO chaos_side_effects (execution_id, runs, pids) VALUES (%s, 1, ARRAY[%s])
    ON CONFLICT (execution_id) DO UPDATE
    SET runs = chaos_side_effects.runs + 1, pids = chaos_side_effects.pids || EXCLUDED.pids
"""


@api_task(["task_api.run_benchmarks"], "Chaos bench: record this run in chaos_side_effects.")
@shared_task(name="chaos.record_run")
def record_run_task(work_ms: int = 100) -> str:
    execution_id = execution_id_of(current_task.request)
    time.sleep(work_ms / 2000)
    with connection.cursor() as cursor:
        cursor.execute(RECORD, [execution_id, os.getpid()])
    time.sleep(work_ms / 2000)
    return execution_id
