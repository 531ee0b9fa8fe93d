from comments.tests.conftest import cast, media_root, task  # noqa: F401
