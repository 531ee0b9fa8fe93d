from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import reduce
from operator import and_, or_
from typing import NamedTuple
from uuid import UUID

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Func,
    IntegerField,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat, JSONObject
from django.db.models.sql.where import WhereNode
from django.utils import timezone

from accounts.models import Department, User
from core.exceptions import NotFound

from .models import Task, TaskAssignee, TaskAssignment, TaskStatusHistory

LATEST_COMMENTS = 5


def task_visibility_q(user: User, prefix: str = "", *, involvement: Q | None = None) -> Q:
    """Q over Task (or over a model whose task lives at `prefix`, e.g. "task__").

    The one statement of who sees which task: CEO, HR and staff see all; a manager sees
    their department's tasks and those they created, assigned or are assigned to; an
    employee sees what they created or are on. `involvement` replaces "created, assigned or
    are assigned to" for rows that name people themselves (assignment audit rows).
    `among_own_tasks` states the employee branch again as id subqueries (`?assignee=`).
    """
    if user.sees_everything:
        return Q()
    manager = user.role == User.Role.MANAGER
    assigned = TaskAssignee.objects.filter(user=user).values("task_id")
    own = involvement if involvement is not None else (
        Q(**{f"{prefix}creator": user})
        | Q(**{f"{prefix}assigned_by": user})
        # A manager sees a whole department, so their visible set is read by walking an
        # ordering index and testing each row (a hashed subplan); anyone else sees a few
        # rows, gathered from the indexes of each source (see `id_in`).
        | (Q(**{f"{prefix}id__in": assigned}) if manager else id_in(f"{prefix}id", assigned))
    )
    if manager:
        managed = Q(**{f"{prefix}department_id__in": Department.objects.filter(manager=user).values("id")})
        # The department first: most rows a manager sees pass on it, and OR stops there.
        own = (Q(**{f"{prefix}department_id": user.department_id}) | managed | own) if user.department_id else (
            managed | own
        )
    return own


class _EqualsAny(Func):
    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = BooleanField()


def id_in(field: str, ids: QuerySet) -> Q:
    """`field` is one of the ids a one-column subquery yields.

    On PostgreSQL as `field = ANY(ARRAY(SELECT ...))`: the subquery runs once (an InitPlan)
    and its array is an index condition, so an OR of it with plain column tests can be a
    BitmapOr of index scans, or a cheap filter on an ordered index walk. `field IN (SELECT
    ...)` inside an OR is a subplan the planner can use neither way: it reads every task.
    """
    if connection.vendor == "postgresql":
        return Q(_EqualsAny(F(field), ArraySubquery(ids)))
    return Q(**{f"{field}__in": ids})


def among_own_tasks(task_ids: QuerySet, user: User) -> QuerySet:
    """`task_ids` (a one-column subquery of task ids, e.g. one person's) narrowed to the tasks
    `user` sees, where that is decided by their own involvement (neither a manager nor someone
    who sees everything): before any task row is read, each id is looked up in hashed sets of
    the user's own task ids, read from indexes. An employee's `?assignee=` of a colleague with
    746 tasks then reads the 261 they share, not all 746 (the visibility test still follows).

    It restates the employee branch of `task_visibility_q` (created, assigned or on the task)
    as subqueries of ids: a change to that rule changes both."""
    if user.sees_everything or user.role == User.Role.MANAGER:
        return task_ids
    field = task_ids.query.values_select[0] if task_ids.query.values_select else "pk"
    return task_ids.filter(
        Q(**{f"{field}__in": TaskAssignee.objects.filter(user=user).values("task_id")})
        | Q(**{f"{field}__in": Task.all_objects.filter(creator=user).values("id")})
        | Q(**{f"{field}__in": Task.all_objects.filter(assigned_by=user).values("id")})
    )


def tasks_visible_to(user: User) -> QuerySet[Task]:
    """Live (not soft-deleted) tasks the user may see; unshaped, for existence checks.

    A manager's tasks are counted in parts (see `ManagerCountParts`).
    """
    return _filter_visible(Task.objects.all(), user)


def _filter_visible(queryset: QuerySet, user: User, prefix: str = "", *, involvement: Q | None = None) -> QuerySet:
    """`queryset` filtered by `task_visibility_q`; for a manager on PostgreSQL, with the parts
    its bounded count reads instead (`query.count_parts`, see core.pagination)."""
    position = len(queryset.query.where.children)
    queryset = queryset.filter(task_visibility_q(user, prefix, involvement=involvement))
    if user.sees_everything:
        # Only the request's filters narrow the rows: a big count may be the planner's (core.pagination).
        queryset.query.count_estimate_first = True
    elif user.role != User.Role.MANAGER:
        # Someone's own few rows: counted and paged in one read of them (core.pagination).
        queryset.query.count_by_ids = True
    elif connection.vendor == "postgresql":
        queryset.query.count_parts = ManagerCountParts(
            user, queryset.model, position=position, prefix=prefix, involvement=involvement
        )
    return queryset


class ManagerCountParts:
    """A manager's visible rows as two disjoint parts, for `core.pagination`'s bounded count.

    A manager sees whole departments plus the few tasks they are involved in elsewhere. A
    count over that OR reads the table row by row (10,001 rows of a department spread over
    a million take tens of milliseconds); as `departments UNION ALL involved elsewhere` under
    one LIMIT, the first part is read from task_dept_status_due_idx alone (with a status or
    due-date filter too; with a search, from task_dept_search_trgm_idx, department and words
    together) and the second only when the first falls short. `position` is where
    `_filter_visible` put the visibility test among the query's ANDed conditions; the filters
    added after it are kept in each part.
    """

    def __init__(self, user: User, model, *, position: int, prefix: str = "", involvement: Q | None = None):
        # Only stored: every manager's read of tasks builds one, and few of those count.
        self.user, self.model, self.position = user, model, position
        self.prefix, self.involvement = prefix, involvement

    def parts(self, *, for_estimate: bool = False) -> list[Q]:
        user, prefix = self.user, self.prefix
        managed = Department.objects.filter(Q(manager=user) | Q(id=user.department_id)).order_by().values("id")
        if for_estimate:
            # The planner's estimate of `department_id = ANY(ARRAY(SELECT ...))` knows nothing of
            # the array (a manager's 50,000 tasks in a million were estimated at 830,000); named
            # as constants, the departments are estimated from the column's statistics. The few
            # tasks elsewhere are left out of an estimate (the bounded count has its floor).
            return [Q(**{f"{prefix}department_id__in": list(managed.values_list("id", flat=True))})]
        if self.involvement is None:
            elsewhere = _tasks_involving_outside(user, f"{prefix}id")
        else:
            # Negated, Django adds "or no department" itself.
            elsewhere = ~Q(**{f"{prefix}department_id__in": managed}) & self.involvement
        # The departments as `department_id = ANY(ARRAY(...))`: an index condition of both
        # indexes named above (an IN subquery is a join the trigram index cannot serve).
        return [id_in(f"{prefix}department_id", managed), elsewhere]

    def __call__(self, queryset: QuerySet, *, for_estimate: bool = False) -> list[QuerySet] | None:
        """`queryset` as its disjoint parts, or None; `for_estimate`: the part the planner can
        estimate, holding nearly all of the rows (see `parts`)."""
        where = queryset.query.where
        if where.connector != "AND" or where.negated or len(where.children) <= self.position:
            return None
        base = len(self.model._default_manager.all().query.where.children)
        parts = []
        for part in self.parts(for_estimate=for_estimate):
            conditions = self.model._default_manager.filter(part).query.where.children[base:]
            clone = queryset.all()
            clone.query.count_parts = None
            clone.query.where.children[self.position] = WhereNode(conditions, connector="AND")
            parts.append(clone)
        return parts


def _tasks_involving_outside(user: User, field: str) -> Q:
    """`field` (a task id) is one of the live tasks outside the user's departments (their own
    and those they manage; or in none) that the user created, assigned or is on.

    A manager typically created and assigned thousands of tasks inside their departments
    and few outside: each (person, department) arm is a range of task_creator_dept_idx or
    task_assigned_by_dept_idx, so those inside are never read; the tasks the manager is on are
    picked by the department their assignee rows hold (task_assignee_user_stats_idx alone), so
    only those outside are read. Written as SQL (PostgreSQL only, like the parts that
    use it): the same statement for everyone but its parameters, which Django would take two
    milliseconds per request to build and compile as a queryset.
    """
    tasks, departments = Task._meta.db_table, Department._meta.db_table
    managed = f"SELECT id FROM {departments} WHERE manager_id = %s OR id = %s"
    others = f"ANY(ARRAY(SELECT id FROM {departments} WHERE id <> ALL(ARRAY({managed}))))"
    sql = f"""
        SELECT id FROM {tasks} WHERE deleted_at IS NULL AND (
            (creator_id = %s AND department_id = {others})
            OR (creator_id = %s AND department_id IS NULL)
            OR (assigned_by_id = %s AND department_id = {others})
            OR (assigned_by_id = %s AND department_id IS NULL)
            OR id = ANY(ARRAY(
                SELECT task_id FROM {TaskAssignee._meta.db_table} WHERE user_id = %s AND task_live
                AND (task_department_id IS NULL OR task_department_id <> ALL(ARRAY({managed})))
            ))
        )
    """
    me, mine = user.pk, user.department_id
    params = [me, me, mine, me, me, me, mine, me, me, me, mine]
    ids = Func(RawSQL(sql, params, output_field=IntegerField()), template="ARRAY%(expressions)s")
    return Q(_EqualsAny(F(field), ids))


def on_visible_tasks(
    queryset: QuerySet, *, user: User, prefix: str = "task__", involvement: Q | None = None
) -> QuerySet:
    """Rows of a model hanging off a task (comments, attachments, assignment records), kept
    only where that task is live and `task_visibility_q` lets the user see it."""
    visible = _filter_visible(queryset, user, prefix, involvement=involvement)
    return visible.filter(**{f"{prefix}deleted_at__isnull": True})


class _ContainsUpper(Func):
    """`document LIKE UPPER('%word%')`: icontains against a column stored in upper case."""

    arg_joiner = " LIKE UPPER("
    template = "(%(expressions)s))"
    output_field = BooleanField()


def task_search_q(text: str, *, indexed: bool = True) -> Q:
    """Every word of `text` in the title, the description or an assignee's name (icontains).

    The names by one subquery over the users per word (see `id_in`), so no join multiplies
    rows. On PostgreSQL the title and description are one stored upper-case column,
    `Task.search_document`, tested as icontains tests it (`LIKE UPPER(pattern)`, the same
    escaping), and the test is written as "every word in the document, OR (an assignee's name
    has one of the words AND every word in the document or a name)": the same rows, but the
    usual case, no name matching, is a plain AND of the words that one scan of the trigram GIN
    index of migration tasks 0008 answers (with a manager's department, see ManagerCountParts),
    where a per-word OR would be a match of each word read apart. `indexed=False` keeps the
    index out of it, for a visible set that is small whatever the table holds (an employee's):
    the planner would otherwise intersect it with every match of a common word, which the GIN
    index gathers at a cost it underestimates (127,000 matches: 11 ms, against 1,200 rows
    tested in 5 ms). Other databases test the two columns with icontains.
    """
    words = text.replace("\x00", "").replace(",", " ").split()
    if not words:
        return Q()

    def named(*words: str) -> Q:
        # Tasks with an assignee whose name has one of `words`.
        people = TaskAssignee.objects.filter(reduce(or_, [Q(user__name__icontains=word) for word in words]))
        return id_in("id", people.values("task_id"))

    if connection.vendor != "postgresql":
        return reduce(and_, [Q(title__icontains=w) | Q(description__icontains=w) | named(w) for w in words])
    document = F("search_document") if indexed else Concat("search_document", Value(""))
    written = [Q(_ContainsUpper(document, Value(f"%{connection.ops.prep_for_like_query(w)}%"))) for w in words]
    if len(words) == 1:
        return written[0] | named(words[0])
    each = reduce(and_, [in_text | named(word) for in_text, word in zip(written, words, strict=True)])
    return reduce(and_, written) | (named(*words) & each)


def overdue_q(prefix: str = "", *, now: datetime | None = None) -> Q:
    """Still open past its due date (the expiry job has not turned it `failed` yet).

    The same meaning as the `overdue` counter of a user's task_stats.
    """
    return Q(**{f"{prefix}status__in": Task.OPEN_STATUSES, f"{prefix}due_date__lt": now or timezone.now()})


def users_with_task_stats(queryset: QuerySet[User]) -> QuerySet[User]:
    """Users annotated with `stat_counts`, {name: count} over their live assigned tasks, in the same query.

    Registered with accounts.selectors.register_user_annotation (TasksConfig.ready): the users
    list and detail answer it as `task_stats`. One subquery correlated to its user, which
    the database runs for the rows of the page only (after ORDER BY ... LIMIT), reading each
    user's live assignee rows once from task_assignee_user_stats_idx alone: the rows carry their
    task's status and due date (TaskAssignee), so no task row is read, and every count is a
    CASE of the same pass.
    """
    S = Task.Status

    def count(condition: Q | None = None) -> Func:
        # A plain COUNT(CASE ...) (no GROUP BY): one row however many, 0 for none. task_id,
        # not the row's own id: it is the index's last column.
        counted = Case(When(condition, then=F("task_id"))) if condition else F("task_id")
        return Func(counted, function="COUNT", output_field=IntegerField())

    stats = (
        TaskAssignee.objects.filter(user_id=OuterRef("pk"), task_live=True)
        .order_by()
        .values(
            counts=JSONObject(
                total=count(),
                todo=count(Q(task_status=S.TODO)),
                in_progress=count(Q(task_status=S.IN_PROGRESS)),
                done=count(Q(task_status=S.DONE)),
                failed=count(Q(task_status=S.FAILED)),
                overdue=count(Q(task_status__in=Task.OPEN_STATUSES, task_due_date__lt=timezone.now())),
            )
        )
    )
    return queryset.annotate(stat_counts=Subquery(stats, output_field=JSONField()))


def _comment_model():
    # Comments sit above tasks: their model is reached through the relation it declares.
    return Task._meta.get_field("comments").related_model


def _comments_count() -> Subquery:
    # A correlated count per row instead of JOIN + COUNT: joining comments (and, when
    # searching, assignees) multiplies rows and makes the aggregate GROUP BY every column.
    counts = (
        _comment_model().objects.filter(task_id=OuterRef("pk"))
        .order_by()
        .values("task_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


# `?expand=` names the task's own relations joined into the page query (no extra query).
JOINED_EXPANSIONS = ("creator", "assigned_by", "department")
# The fields of a person as an expansion shows them.
USER_BRIEF_FIELDS = ("id", "external_id", "name", "email", "role")


def _with_expansions(queryset: QuerySet[Task], expand: Collection[str]) -> QuerySet[Task]:
    joined = [name for name in JOINED_EXPANSIONS if name in expand]
    return queryset.select_related(*joined) if joined else queryset


def task_list(*, user: User, expand: Collection[str] = ()) -> QuerySet[Task]:
    """Visible tasks shaped for the list: comments_count annotated, and the relations
    `expand` names among creator, assigned_by and department joined.

    Assignees are not prefetched here: call `task_attach_assignee_ids` on the page.
    """
    return _with_expansions(tasks_visible_to(user), expand).annotate(comments_count=_comments_count())


def tasks_for_rendering(*, task_ids: Iterable[int]) -> list[Task]:
    """Live tasks by id, shaped for TaskSerializer as the list shows them (comments_count,
    assignee_ids), in two queries: for renderings made outside a request (webhook payloads),
    where the requester is not the one who reads them."""
    tasks = list(Task.objects.filter(pk__in=list(task_ids)).annotate(comments_count=_comments_count()).order_by("pk"))
    task_attach_assignee_ids(tasks=tasks)
    return tasks


def _shaped_for_detail(queryset: QuerySet[Task], expand: Collection[str]) -> QuerySet[Task]:
    latest = _comment_model().objects.only("id", "task_id", "author_id", "content", "created_at").order_by(
        "-created_at", "-id"
    )
    if "author" in expand:
        latest = latest.select_related("author").only(
            "id", "task_id", "content", "created_at", *(f"author__{name}" for name in USER_BRIEF_FIELDS)
        )
    return _with_expansions(queryset, expand).annotate(comments_count=_comments_count()).prefetch_related(
        Prefetch("comments", queryset=latest[:LATEST_COMMENTS], to_attr="latest_comments")
    )


def task_detail(*, user: User, expand: Collection[str] = ()) -> QuerySet[Task]:
    """Visible tasks shaped for the detail answer (latest comments, with their authors when
    `expand` names `author`, in one extra query)."""
    return _shaped_for_detail(tasks_visible_to(user), expand)


def task_for_response(*, task_id: int, expand: Collection[str] = ()) -> Task:
    """A task just written, shaped for the detail answer.

    Not filtered by visibility: the writer was allowed to change it, even when the change
    (a new department, a delegation) means they no longer see it.
    """
    task = _shaped_for_detail(Task.objects.filter(pk=task_id), expand).get()
    task_attach_assignee_ids(tasks=[task], people="assignees" in expand)
    return task


def tasks_for_response(*, task_ids: Sequence[int], expand: Collection[str] = ()) -> list[Task]:
    """Tasks just written, shaped as the list shows them, in the order of `task_ids`: two queries.

    Not filtered by visibility, as task_for_response.
    """
    shaped = _with_expansions(Task.objects.filter(pk__in=task_ids), expand).annotate(comments_count=_comments_count())
    found = {task.pk: task for task in shaped}
    tasks = [found[pk] for pk in task_ids if pk in found]
    task_attach_assignee_ids(tasks=tasks, people="assignees" in expand)
    return tasks


def tasks_named_by(*, user: User, ids: Sequence[int | UUID]) -> list[Task]:
    """The tasks `ids` (ids or external ids) name, in that order, among those the user sees,
    shaped for the permission checks (department joined, `assignee_ids` attached): two queries.

    NotFound naming the ids that name no task the user sees; a ValidationError when two of
    them name the same task.
    """
    numbers = [value for value in ids if isinstance(value, int)]
    external = [value for value in ids if not isinstance(value, int)]
    found = {}
    for task in tasks_visible_to(user).filter(Q(pk__in=numbers) | Q(external_id__in=external)).select_related(
        "department"
    ):
        found[task.pk] = found[task.external_id] = task
    missing = [value for value in ids if value not in found]
    if missing:
        raise NotFound(
            "No task you can see has these ids; no task was changed.", extra={"ids": [_as_sent(v) for v in missing]}
        )
    tasks = [found[value] for value in ids]
    named = Counter(task.pk for task in tasks)
    repeated = [_as_sent(value) for value, task in zip(ids, tasks, strict=True) if named[task.pk] > 1]
    if repeated:
        raise ValidationError({"ids": f"These ids name the same task more than once: {repeated}."})
    task_attach_assignee_ids(tasks=tasks)
    return tasks


def _as_sent(value: int | UUID) -> int | str:
    return value if isinstance(value, int) else str(value)


class UserBrief(NamedTuple):
    """A person as an expansion shows them, read straight from the assignment rows."""

    id: int
    external_id: UUID
    name: str
    email: str
    role: str


def task_attach_assignee_ids(*, tasks: Iterable[Task], people: bool = False) -> None:
    """Set `assignee_ids` on each task from one query over the M2M table (no User rows);
    with `people`, the same query joins the users and sets `assignee_people` (UserBriefs)."""
    tasks = list(tasks)
    if not tasks:
        return
    people_by_task = defaultdict(list)
    fields = ("user_id", *(f"user__{name}" for name in USER_BRIEF_FIELDS[1:])) if people else ("user_id",)
    rows = (
        TaskAssignee.objects.filter(task_id__in=[task.pk for task in tasks])
        .order_by("user_id")
        .values_list("task_id", *fields)
    )
    for task_id, *person in rows:
        people_by_task[task_id].append(UserBrief(*person) if people else person[0])
    for task in tasks:
        found = people_by_task.get(task.pk, [])
        if people:
            task.assignee_people = found
            task.assignee_ids = [person.id for person in found]
        else:
            task.assignee_ids = found


def task_history(*, task: Task) -> list[dict]:
    """Status changes and assignment records of a task, merged oldest first."""
    statuses = [
        {
            "type": "status",
            "id": row.id,
            "from_status": row.from_status,
            "to_status": row.to_status,
            "changed_by": row.changed_by_id,
            "created_at": row.created_at,
        }
        for row in TaskStatusHistory.objects.filter(task=task)
    ]
    assignments = [
        {
            "type": "assignment",
            "id": row.id,
            "action": row.action,
            "assigned_to": row.assigned_to_id,
            "assigned_by": row.assigned_by_id,
            "created_at": row.created_at,
        }
        for row in TaskAssignment.objects.filter(task=task)
    ]
    # A task's creation writes its first status row before its first assignments.
    order = {"status": 0, "assignment": 1}
    return sorted(statuses + assignments, key=lambda i: (i["created_at"], order[i["type"]], i["id"]))


def task_assignments_visible_to(user: User) -> QuerySet[TaskAssignment]:
    """Assignment audit rows of live tasks: all for CEO/HR/staff, a manager's department
    (and their own rows) for managers, rows naming the user for everyone else.

    Decided on the record alone, from its copies of the task's department and liveness
    (`task_department_id`, `task_live`; prefix "task_" makes task_visibility_q read the copy
    for the task's `department_id`): no task row is read, so a page walks
    taskassignment_recent_idx alone and a manager's department is counted from
    taskassignment_live_dept_idx.
    """
    visible = _filter_visible(
        TaskAssignment.objects.all(), user, "task_", involvement=Q(assigned_to=user) | Q(assigned_by=user)
    )
    return visible.filter(task_live=True)


def task_audience(
    *, task_ids: Iterable[int], with_creators: bool, user_fields: Sequence[str] = ()
) -> list[tuple]:
    """(task_id, user_id, *user_fields) for the active assignees (and creators) of many tasks,
    in one query; a user who is both on a task and its creator is listed for it once.

    `user_fields` are paths from the user (e.g. a relation of an app above that joins in the
    same query). Soft-deleted tasks are not filtered out: callers pass ids they have already chosen.
    """
    task_ids = list(task_ids)
    rows = (
        TaskAssignee.objects.filter(task_id__in=task_ids, user__is_active=True)
        .order_by()
        .values_list("task_id", "user_id", *(f"user__{name}" for name in user_fields))
    )
    if with_creators:
        creators = (
            Task.all_objects.filter(id__in=task_ids, creator__is_active=True)
            .order_by()
            .values_list("id", "creator_id", *(f"creator__{name}" for name in user_fields))
        )
        rows = rows.union(creators, all=True)
    return list({tuple(row[:2]): tuple(row) for row in rows}.values())
