"""Database limits, and connection tweaks applied on every new connection."""

import sqlite3

# The largest id a BigAutoField holds: a larger one is a 400, not an overflow in the driver.
MAX_ID = 2**63 - 1


def use_sqlite_variable_limit(sender, connection, **kwargs):
    """Let Django use the SQLite library's real bound-parameter limit, not a fixed 999.

    Django 5.2 assumes SQLite's old default of 999 and splits a bulk_create of a few
    hundred rows into many INSERTs; current SQLite builds allow 32,766 or more, so bulk
    writes (task expiry, notifications) stay one statement as they are on PostgreSQL.
    """
    if connection.vendor == "sqlite":
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        connection.features.max_query_params = max(limit, 999)
