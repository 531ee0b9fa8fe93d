"""Sample data for `manage.py seed_demo`, one function per app, each idempotent."""

SEEDERS = []
