"""What keeps list reads flat at 1,000,000 tasks (issue 12), checked at test size on PostgreSQL:
a manager's bounded count in two parts, the overdue and assignee shapes, the search statistics,
task_stats in one pass, and the expiry sweep's single statement. bench/scale.py measures them
at 1,000,000 tasks.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from tasks.expiry import task_expire_overdue
from tasks.models import Task, TaskStatusHistory
from tasks.selectors import tasks_visible_to

from .factories import TaskFactory
from .test_scale_plans import listed, plan_of

pytestmark = pytest.mark.services


@pytest.fixture
def managed(cast):
    """dept_a (the manager's) holds 3 tasks of others; dept_b holds 2 the manager created, one
    they are on, one they assigned and 2 that are none of theirs; one task has no department."""
    manager, outsider = cast["manager"], cast["outsider"]
    TaskFactory.create_batch(3, creator=cast["creator"], department=cast["dept_a"])
    TaskFactory.create_batch(2, creator=manager, department=cast["dept_b"], status=Task.Status.DONE)
    TaskFactory(creator=outsider, department=cast["dept_b"], assignees=[manager])
    TaskFactory(creator=outsider, department=cast["dept_b"], assigned_by=manager)
    TaskFactory.create_batch(2, creator=outsider, department=cast["dept_b"])
    TaskFactory(creator=manager, department=None)
    return manager


def test_a_managers_count_is_exact_and_read_in_two_parts(managed, client_for, django_assert_max_num_queries):
    client = client_for(managed)

    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(4):
        body = client.get("/api/v1/tasks/").json()

    assert (body["count"], body["count_exact"]) == (8, True) == (tasks_visible_to(managed).count(), True)
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len(counts) == 1 and "UNION ALL" in counts[0], counts


@pytest.mark.parametrize(
    "params, expected",
    [({"status": "done"}, 2), ({"status": "todo"}, 6), ({"overdue": "false"}, 8), ({"search": "task"}, 8)],
)
def test_a_managers_filtered_count_keeps_the_filter_in_each_part(managed, client_for, params, expected):
    body = client_for(managed).get("/api/v1/tasks/", params).json()

    assert (body["count"], body["count_exact"], len(body["results"])) == (expected, True, min(expected, 10))


def test_past_the_limit_the_parts_stop_at_it(managed, client_for, settings):
    settings.EXACT_COUNT_LIMIT = 5

    body = client_for(managed).get("/api/v1/tasks/", {"page_size": 3}).json()

    assert body["count_exact"] is False and body["count"] > 5 and len(body["results"]) == 3


def test_past_the_limit_a_managers_estimate_is_of_their_departments_named(
    managed, cast, client_for, settings, monkeypatch
):
    """The planner cannot estimate `department_id = ANY(ARRAY(SELECT ...))` (a manager's 50,000
    tasks in a million were estimated at 830,000): the estimate is of the department part, the
    departments named as constants so their statistics apply."""
    from core import pagination

    settings.EXACT_COUNT_LIMIT = 5
    asked = []
    real = pagination.CountLimitPaginator._planner_rows

    def planner_rows(ids, connection):
        asked.append((ids.query.sql_with_params()[0], set(ids.values_list("pk", flat=True))))
        return real(ids, connection)

    monkeypatch.setattr(pagination.CountLimitPaginator, "_planner_rows", staticmethod(planner_rows))

    body = client_for(managed).get("/api/v1/tasks/", {"page_size": 3}).json()

    assert body["count_exact"] is False and body["count"] > 5
    [(departments_sql, departments)] = asked
    assert "ARRAY(SELECT" not in departments_sql.upper() and '"department_id" IN (' in departments_sql
    assert departments == set(Task.objects.filter(department=cast["dept_a"]).values_list("pk", flat=True))


def test_the_parts_split_the_visible_tasks_without_overlap(managed, cast):
    ids = tasks_visible_to(managed).order_by().values("pk")
    departments, involved = (set(part.values_list("pk", flat=True)) for part in ids.query.count_parts(ids))

    assert departments == set(Task.objects.filter(department=cast["dept_a"]).values_list("pk", flat=True))
    assert len(involved) == 5 and not departments & involved
    assert departments | involved == set(ids.values_list("pk", flat=True))


def test_overdue_is_a_walk_of_the_open_tasks_index(cast, some_tasks):
    plan = plan_of(listed(cast["ceo"], {"overdue": "true"})[:10], seqscan=False, sort=False)

    assert "task_live_open_due_desc_idx" in plan, plan


def test_an_assignees_tasks_are_fetched_by_id_not_tested_one_by_one(cast, some_tasks):
    plan = plan_of(listed(cast["ceo"], {"assignee": cast["assignee"].pk})[:10])

    # The ids once (an InitPlan), then those rows by primary key: no EXISTS per visible task.
    assert "Index Cond: (id = ANY ($" in plan and "InitPlan" in plan, plan


def test_the_planner_knows_how_common_a_searched_word_is(cast, some_tasks):
    common = plan_of(listed(cast["ceo"], {"search": "routine"}).order_by())
    rare = plan_of(listed(cast["ceo"], {"search": "budget"}).order_by())

    def estimate(plan):
        return int(plan.split("rows=")[1].split()[0])

    # 5,000 tasks say "Routine work", 5 "Budget review": without the expression statistics
    # of migration 0006 both would be guessed at a fraction of a percent.
    assert estimate(common) > 1000 and estimate(rare) < 200, (common, rare)


def test_task_stats_read_each_users_assignments_once(cast, client_for, django_assert_max_num_queries):
    assignee = cast["assignee"]
    past, future = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    TaskFactory(creator=cast["creator"], assignees=[assignee], due_date=past)
    TaskFactory(creator=cast["creator"], assignees=[assignee], status=Task.Status.IN_PROGRESS, due_date=future)
    TaskFactory(creator=cast["creator"], assignees=[assignee], status=Task.Status.DONE)
    TaskFactory(creator=cast["creator"], assignees=[assignee], deleted_at=past)

    with CaptureQueriesContext(connection) as queries:
        stats = client_for(cast["ceo"]).get(f"/api/v1/users/{assignee.pk}/").json()["task_stats"]

    assert stats == {"total": 3, "todo": 1, "in_progress": 1, "done": 1, "failed": 0, "overdue": 1}
    users = next(q["sql"] for q in queries.captured_queries if '"stat_counts"' in q["sql"])
    assert users.count("tasks_task_assignees") == 1, users


def test_the_sweep_claims_fails_and_records_in_one_statement(cast):
    UserFactory.create_batch(2)
    late = TaskFactory.create_batch(
        4, creator=cast["creator"], assignees=[cast["assignee"]], due_date=timezone.now() - timedelta(hours=1)
    )
    TaskFactory(creator=cast["creator"], due_date=timezone.now() + timedelta(hours=1))

    with CaptureQueriesContext(connection) as queries:
        assert task_expire_overdue() == 4

    sql = [q["sql"].lstrip() for q in queries.captured_queries]
    # Writes to the tasks tables (the live event log's INSERT also opens with a WITH).
    writes = [q for q in sql if q.startswith(("UPDATE", 'INSERT INTO "tasks_')) or (
        q.startswith("WITH") and "tasks_task" in q
    )]
    assert len(writes) == 1 and "FOR UPDATE SKIP LOCKED" in writes[0] and "INSERT INTO" in writes[0], writes
    assert set(Task.objects.filter(status=Task.Status.FAILED).values_list("id", flat=True)) == {t.id for t in late}
    history = TaskStatusHistory.objects.filter(task__in=late)
    assert sorted(history.values_list("from_status", "to_status", "changed_by")) == [("todo", "failed", None)] * 4
