"""The `events` process: uvicorn serving config.asgi (live event streams on an event loop).

    python -m config.events_server [uvicorn options]   (Procfile.dev, docker-compose.yml)

uvicorn re-raises the stop signal once its graceful shutdown is over, so its exit status
would read "killed by SIGTERM"; a supervisor (`make run`, compose) takes that for a crash.
The no-op handlers set here are the ones uvicorn restores before re-raising: the process
then exits 0 after a clean stop, as gunicorn and Celery do.
"""

import signal

import uvicorn

APPLICATION = "config.asgi:application"


def main(argv=None) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    # Django has no ASGI lifespan: uvicorn would say so at every start.
    uvicorn.main.main(args=[APPLICATION, "--lifespan", "off", *(argv or [])], prog_name="events")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
