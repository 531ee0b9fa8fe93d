from comments.tests.conftest import admin_client, cast, many, media_root, rows, task, world  # noqa: F401
