"""The list queries stay index reads at any size: checked on the plans PostgreSQL makes.

A few of the personas' tasks among 5,000 others, analyzed; for the orderings the planner is
also told to avoid sequential scans and sorts, which a query shape an index cannot serve still
needs. bench/scale.py measures the same at 1,000,000 tasks.
"""

import re

import pytest
from django.db import connection

from accounts.selectors import users_list
from tasks.filters import TaskFilter
from tasks.selectors import task_list


def plan_of(queryset, **switches) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        for name, value in switches.items():
            cursor.execute(f"SET LOCAL enable_{name} = {'on' if value else 'off'}")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def listed(user, params):
    return TaskFilter(params, queryset=task_list(user=user)).qs


@pytest.mark.services
@pytest.mark.parametrize("persona", ["assignee", "creator", "outsider"])
def test_an_employees_tasks_are_gathered_from_indexes(persona, cast, some_tasks):
    plan = plan_of(listed(cast[persona], {})[:10])

    assert "BitmapOr" in plan and not re.search(r"Seq Scan on tasks_task\s", plan), plan


@pytest.mark.services
@pytest.mark.parametrize(
    "ordering, index",
    [
        ("", "task_live_due_desc_idx"),
        ("due_date", "task_live_due_asc_idx"),
        ("-priority", "task_live_prio_desc_idx"),
        ("priority", "task_live_prio_asc_idx"),
        ("-created_at", "task_live_created_desc_idx"),
        ("created_at", "task_live_created_asc_idx"),
        ("-updated_at", "task_live_updated_desc_idx"),
        ("updated_at", "task_live_updated_asc_idx"),
    ],
)
def test_each_ordering_is_an_index_walk(ordering, index, cast, some_tasks):
    plan = plan_of(listed(cast["ceo"], {"ordering": ordering})[:10], seqscan=False, sort=False, incremental_sort=False)

    assert index in plan and "Sort" not in plan, plan


@pytest.mark.services
def test_a_managers_page_is_an_index_walk(cast, some_tasks):
    plan = plan_of(listed(cast["manager"], {})[:10], seqscan=False, sort=False, incremental_sort=False)

    assert "task_live_due_desc_idx" in plan and "Sort" not in plan, plan


@pytest.mark.services
def test_search_is_answered_by_the_trigram_index(cast, some_tasks):
    plan = plan_of(listed(cast["ceo"], {"search": "budget"})[:10], seqscan=False)

    assert "task_dept_search_trgm_idx" in plan, plan


@pytest.mark.django_db
def test_task_stats_are_not_grouped_over_every_assignment():
    # Correlated counts run for the page's users only; a GROUP BY joins every assignment first.
    assert "GROUP BY" not in str(users_list().query)
