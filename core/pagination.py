import json
import re
import time
from functools import cached_property, partial

from django.conf import settings
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections
from django.db.models import QuerySet, Value
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

DIGITS = re.compile(r"[0-9]+")
COUNT_QUERY_PARAM = "count"


# How long a process trusts its reading of a table's size (pg_class.reltuples).
TABLE_ROWS_TTL_SECONDS = 60.0
_table_rows: dict[tuple[str, str], tuple[float, float]] = {}


def table_rows(connection, table: str) -> float:
    """The planner's row count of `table` (PostgreSQL), read at most once a minute per process."""
    key, now = (connection.alias, table), time.monotonic()
    cached = _table_rows.get(key)
    if cached is None or now - cached[1] > TABLE_ROWS_TTL_SECONDS:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
        cached = _table_rows[key] = (max(float(row[0]), 0.0) if row else 0.0, now)
    return cached[0]


class CountLimitPaginator(Paginator):
    """Counts exactly up to `EXACT_COUNT_LIMIT` rows; past that, on PostgreSQL, answers the
    planner's estimate (`count_exact` False) instead of reading the whole matching set again.

    The bounded count reads at most the limit plus one row, so its cost stops growing with
    the table; `exact=True` (`?count=exact`) pays for the full count. Other databases count
    exactly. With an estimate, a page is fetched one row long to know whether another follows,
    so `next` never points past the end and a page past it is still a 404.

    Where even the bounded count is dear (a word in one task of eight: 10,001 matches are
    found among ~80,000 rows) and the rows are narrowed by the request's filters alone
    (`query.count_estimate_first`, e.g. everything a CEO sees), the planner is asked first on
    a table of COUNT_ESTIMATE_FIRST_ROWS rows or more, and an estimate of that many rows and
    ten times the limit is answered without counting. For such broad conditions its estimates
    from column statistics are off by far less than tenfold; a smaller one is checked by the
    bounded count as usual.
    """

    def __init__(self, object_list, per_page, *, exact: bool = False, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.force_exact = exact
        self.count_exact = True
        # Every matching id in the page's order, where the count read them (`query.count_by_ids`).
        self.ordered_ids: list | None = None

    @cached_property
    def count(self):
        queryset = self.object_list
        if self.force_exact or not isinstance(queryset, QuerySet):
            return super().count
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return super().count
        limit = getattr(settings, "EXACT_COUNT_LIMIT", 10_000)
        ids = queryset.order_by().values("pk")
        estimate = None
        first_from = getattr(settings, "COUNT_ESTIMATE_FIRST_ROWS", 100_000)
        trusted = max(first_from or 0, 10 * limit)
        if (
            first_from
            and getattr(ids.query, "count_estimate_first", False)
            and table_rows(connection, queryset.model._meta.db_table) >= trusted
        ):
            estimate = self._planner_rows(ids, connection)
            if estimate >= trusted:
                self.count_exact = False
                return estimate
        if getattr(ids.query, "count_by_ids", False):
            # A few rows (e.g. what an employee sees, gathered from their own indexes) are read
            # once: the ids of up to limit + 1 of them in the page's order are the count, and
            # the page is fetched by id, where a count and a page would each read them all.
            ordered = list(queryset.values_list("pk", flat=True)[: limit + 1])
            if len(ordered) <= limit:
                self.ordered_ids = ordered
                return len(ordered)
            self.count_exact = False
            return max(self._planner_rows(ids, connection), len(ordered))
        # A query may know a cheaper shape of its rows: disjoint parts (`query.count_parts`,
        # e.g. tasks.selectors.ManagerCountParts), counted as one UNION ALL under the limit.
        split = getattr(ids.query, "count_parts", None)
        parts = split(ids) if split else None
        if parts:
            # A constant per row: a part is then read from an index that has its columns.
            parts = [part.values(row=Value(1)) for part in parts]
            counted = parts[0].union(*parts[1:], all=True)
        else:
            counted = ids
        bounded = counted[: limit + 1].count()
        if bounded <= limit:
            return bounded
        self.count_exact = False
        if estimate is None and parts:
            # What the parts can tell the planner (e.g. a manager's departments named as constants).
            estimate = sum(self._planner_rows(part, connection) for part in split(ids, for_estimate=True))
        if estimate is None:
            estimate = self._planner_rows(ids, connection)
        return max(estimate, bounded)

    @staticmethod
    def _planner_rows(ids: QuerySet, connection) -> int:
        sql, params = ids.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])

    def validate_number(self, number):
        if self.count is not None and self.count_exact:  # `count` decides `count_exact`
            return super().validate_number(number)
        # An estimate may be short or long of the end: `page()` finds out from the rows.
        try:
            number = int(number)
        except (TypeError, ValueError):
            return super().validate_number(number)
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number):
        number = self.validate_number(number)
        if self.ordered_ids is not None:
            bottom = (number - 1) * self.per_page
            wanted = self.ordered_ids[bottom : bottom + self.per_page]
            rows = {row.pk: row for row in self.object_list.filter(pk__in=wanted)}
            # A row gone since the count is left out.
            return self._get_page([rows[pk] for pk in wanted if pk in rows], number, self)
        if self.count_exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows:
            if number == 1 and self.allow_empty_first_page:
                # An estimate asked first may be wrong about there being any row at all.
                self.count, self.count_exact = 0, True
                return EstimatedCountPage(rows, number, self, False)
            raise EmptyPage("That page contains no results")
        has_next = len(rows) > self.per_page
        rows = rows[: self.per_page]
        seen = bottom + len(rows)
        if not has_next:
            # The last page: now the figure is known.
            self.count, self.count_exact = seen, True
        elif self.count <= seen:
            self.count = seen + 1
        return EstimatedCountPage(rows, number, self, has_next)


class EstimatedCountPage(Page):
    def __init__(self, object_list, number, paginator, has_next):
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self):
        return self._has_next


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 10, capped at 100), and `?count=exact`.

    DRF would quietly use the default page size for a `page_size` that is not a number; a
    client that sent one has a bug it should hear about, so that is a 400 naming it. An
    empty value is no value, as for the filters; a number above the cap is capped. Every page
    says whether its `count` is exact (see CountLimitPaginator).
    """

    page_size_query_param = "page_size"
    max_page_size = 100

    @property
    def django_paginator_class(self):
        raw = self.request.query_params.get(COUNT_QUERY_PARAM, "")
        if raw not in ("", "exact"):
            raise ValidationError({COUNT_QUERY_PARAM: ["Only `exact` is accepted."]})
        return partial(CountLimitPaginator, exact=raw == "exact")

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not DIGITS.fullmatch(raw) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: ["A positive whole number is required."]})
        return min(int(raw), self.max_page_size)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_exact"] = self.page.paginator.count_exact
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count"]["description"] = (
            "Matching items: exact up to EXACT_COUNT_LIMIT (10,000 by default), above it possibly "
            "an estimate (then `count_exact` is false); `?count=exact` asks for the exact figure."
        )
        schema["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "Whether `count` is exact (false: an estimate of a large set).",
        }
        schema["required"] = [*schema.get("required", []), "count_exact"]
        return schema

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Number of results per page (default {self.page_size}; above {self.max_page_size}, "
                    f"{self.max_page_size})."
                )
        parameters.append(
            {
                "name": COUNT_QUERY_PARAM,
                "required": False,
                "in": "query",
                "description": "`exact`: count every matching item even past EXACT_COUNT_LIMIT (slower).",
                "schema": {"type": "string", "enum": ["exact"]},
            }
        )
        return parameters
