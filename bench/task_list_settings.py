"""The project's settings with the bare comparison view routed in (used by bench/task_list.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_app"
