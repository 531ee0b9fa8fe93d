from comments.tests.conftest import cast, many, media_root, task, world  # noqa: F401
