"""Writes on tasks. Every status change leaves a TaskStatusHistory row and every change of
assignees a TaskAssignment row, in the same transaction as the change itself; each write then
announces itself through `tasks.events`, still inside that transaction."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from core.exceptions import ApplicationError, Forbidden, NotFound

from .events import tasks_assigned, tasks_created, tasks_updated
from .models import Task, TaskAssignment, TaskStatusHistory

# "Not given", where None is a real value (a task without a department).
_CREATOR_DEPARTMENT = object()


def _check_future(due_date: datetime | None) -> None:
    if due_date is not None and due_date <= timezone.now():
        raise ValidationError({"due_date": "The due date must be in the future."})


def _locked(task: Task) -> Task:
    """A fresh copy of the task, row-locked so the expiry job cannot interleave with us."""
    return Task.objects.select_for_update().get(pk=task.pk)


def _change_status(task: Task, status: str, *, by: User | None) -> TaskStatusHistory | None:
    """Move `task` to `status` in memory; returns the unsaved history row, None if unchanged.

    Done stamps `completed_at`, late when past the due date or already failed; leaving done
    clears both.
    """
    if status == task.status:
        return None
    now = timezone.now()
    if status == Task.Status.DONE:
        task.completed_at = now
        task.completed_late = task.status == Task.Status.FAILED or (
            task.due_date is not None and now > task.due_date
        )
    elif task.status == Task.Status.DONE:
        task.completed_at = None
        task.completed_late = False
    history = TaskStatusHistory(task=task, from_status=task.status, to_status=status, changed_by=by)
    task.status = status
    return history


def _record(task: Task, users: Sequence[User], *, by: User, action: str) -> None:
    TaskAssignment.objects.bulk_create(
        TaskAssignment(task=task, assigned_to=user, assigned_by=by, action=action) for user in users
    )


def _add_assignees(task: Task, users: Sequence[User], *, by: User) -> list[User]:
    """Put the users not already on the task on it; returns those added."""
    current = set(task.assignees.values_list("pk", flat=True))
    added = [user for user in users if user.pk not in current]
    if added:
        task.assignees.add(*added)
        _record(task, added, by=by, action=TaskAssignment.Action.ASSIGNED)
        task.assigned_by = by
    return added


def _remove_assignees(task: Task, users: Sequence[User], *, by: User) -> list[User]:
    current = set(task.assignees.values_list("pk", flat=True))
    removed = [user for user in users if user.pk in current]
    if removed:
        task.assignees.remove(*removed)
        _record(task, removed, by=by, action=TaskAssignment.Action.UNASSIGNED)
    return removed


def _differs(task: Task, name: str, value) -> bool:
    field = Task._meta.get_field(name)
    if field.is_relation:  # compare ids, so the check does not load the related row
        return getattr(task, field.attname) != (value.pk if value is not None else None)
    return getattr(task, name) != value


def _assignee_ids(task: Task) -> list[int]:
    return list(task.assignees.order_by("pk").values_list("pk", flat=True))


def _check_new(*, status: str = Task.Status.TODO, due_date: datetime | None = None, **fields) -> None:
    """The rules of a new task beyond its fields' shapes: it starts `todo`, due in the future."""
    if status != Task.Status.TODO:
        raise ValidationError({"status": "New tasks start as todo."})
    _check_future(due_date)


def _insert_tasks(*, creator: User, items: Sequence[Mapping]) -> list[Task]:
    """Insert the tasks `items` describe (task_create's arguments, already checked), each with
    its `todo` history row and its assignees and their records, one INSERT per table however
    many tasks; then announce them (tasks_created, and tasks_assigned for those with assignees)."""
    tasks, history, assigned = [], [], []
    for item in items:
        fields = {name: value for name, value in item.items() if name not in ("assignees", "status")}
        department = fields.pop("department", _CREATOR_DEPARTMENT)
        assignees = list({user.pk: user for user in item.get("assignees", ())}.values())
        task = Task(
            creator=creator,
            department=creator.department if department is _CREATOR_DEPARTMENT else department,
            assigned_by=creator if assignees else None,
            status="",
            **fields,
        )
        history.append(_change_status(task, Task.Status.TODO, by=creator))
        tasks.append(task)
        if assignees:
            assigned.append((task, assignees))
    Task.objects.bulk_create(tasks)
    TaskStatusHistory.objects.bulk_create(history)
    if assigned:
        Task.assignees.through.objects.bulk_create(
            Task.assignees.through(task_id=task.pk, user_id=user.pk) for task, users in assigned for user in users
        )
        TaskAssignment.objects.bulk_create(
            TaskAssignment(task=task, assigned_to=user, assigned_by=creator, action=TaskAssignment.Action.ASSIGNED)
            for task, users in assigned
            for user in users
        )
    tasks_created.send(sender=Task, tasks=tasks, actor=creator)
    if assigned:
        tasks_assigned.send(sender=Task, assignments=assigned, actor=creator)
    return tasks


@transaction.atomic
def task_create(
    *,
    creator: User,
    title: str,
    description: str = "",
    priority: str = Task.Priority.MEDIUM,
    department: Department | None = _CREATOR_DEPARTMENT,
    due_date: datetime | None = None,
    estimate_hours: Decimal | None = None,
    assignees: Sequence[User] = (),
    status: str = Task.Status.TODO,
) -> Task:
    """A new `todo` task; given no department, it belongs to its creator's department.

    `status` is accepted only as `todo`, so a client sending another one learns it was not
    applied instead of having it silently dropped.
    """
    _check_new(status=status, due_date=due_date)
    item = {
        "title": title, "description": description, "priority": priority, "due_date": due_date,
        "estimate_hours": estimate_hours, "assignees": assignees,
    }
    if department is not _CREATOR_DEPARTMENT:
        item["department"] = department
    return _insert_tasks(creator=creator, items=[item])[0]


@transaction.atomic
def tasks_bulk_create(*, creator: User, items: Sequence[Mapping]) -> list[Task]:
    """Create many tasks as task_create would each (same rules, history, assignment records and
    signals, one signal of each kind for all), in a fixed number of queries; all or none.

    Each item holds task_create's keyword arguments. A refused item refuses them all: the
    ApplicationError's `errors` holds each refused item's field errors under its index.
    """
    errors = {}
    for index, item in enumerate(items):
        try:
            _check_new(**item)
        except ValidationError as error:
            errors[str(index)] = error.message_dict
    if errors:
        raise ApplicationError("No task was created: some items are invalid.", extra={"errors": errors})
    return _insert_tasks(creator=creator, items=items)


@dataclass
class _TaskChange:
    """What one update did, worked out once: what users see as changed (`visible`, the
    names `task_updated` carries) and the columns that must be saved for it."""

    visible: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    history: TaskStatusHistory | None = None
    added: list[User] = field(default_factory=list)

    def columns_to_save(self) -> list[str]:
        columns = list(self.columns)
        if self.added:
            columns.append("assigned_by")
        return [*columns, "updated_at"]


def _apply_fields(task: Task, fields: dict, *, change: _TaskChange) -> None:
    differing = [name for name, value in fields.items() if _differs(task, name, value)]
    for name in differing:
        setattr(task, name, fields[name])
    change.visible += differing
    change.columns += differing


def _apply_status(task: Task, status: str | None, *, by: User, change: _TaskChange) -> None:
    change.history = None if status is None else _change_status(task, status, by=by)
    if change.history:
        change.visible.append("status")
        change.columns += ["status", "completed_at", "completed_late"]


def _apply_assignees(task: Task, assignees: Sequence[User] | None, *, by: User, change: _TaskChange) -> None:
    if assignees is None:
        return
    wanted = {user.pk for user in assignees}
    removed = _remove_assignees(task, [u for u in task.assignees.all() if u.pk not in wanted], by=by)
    change.added = _add_assignees(task, assignees, by=by)
    if change.added or removed:
        change.visible.append("assignees")


@transaction.atomic
def task_update(*, task: Task, by: User, **fields) -> Task:
    """Change any of title, description, status, priority, department, due_date,
    estimate_hours and `assignees` (the complete new set).

    The due date may stay in the past (an overdue task remains editable) but may not be
    moved into it.
    """
    task = _locked(task)
    if "due_date" in fields and fields["due_date"] != task.due_date:
        _check_future(fields["due_date"])
    assignees = fields.pop("assignees", None)
    status = fields.pop("status", None)
    change = _TaskChange()
    _apply_fields(task, fields, change=change)
    _apply_status(task, status, by=by, change=change)
    _apply_assignees(task, assignees, by=by, change=change)
    if not change.visible:
        return task
    # Only the columns that changed, so unlocked writers of other columns (the reminder job's
    # reminder_sent_for) are not overwritten with what this copy read.
    task.save(update_fields=change.columns_to_save())
    if change.history:
        change.history.save()
    tasks_updated.send(sender=Task, changes=[(task, change.visible)], actor=by)
    if change.added:
        tasks_assigned.send(sender=Task, assignments=[(task, change.added)], actor=by)
    return task


@transaction.atomic
def tasks_bulk_update(*, tasks: Sequence[Task], by: User, **fields) -> list[Task]:
    """Set the same status, priority, due_date and/or department on many tasks, each as
    task_update would (same rules, history and one tasks_updated signal for all the tasks that
    changed), in a fixed number of queries; all or none. Returns the updated rows, locked.

    A refused value is an ApplicationError naming it under `set`, the body's key for them.
    """
    locked = list(Task.objects.select_for_update().filter(pk__in=[task.pk for task in tasks]).order_by("pk"))
    if len(locked) < len({task.pk for task in tasks}):
        raise NotFound("A task was deleted meanwhile; no task was changed.")
    if "due_date" in fields and any(task.due_date != fields["due_date"] for task in locked):
        try:
            _check_future(fields["due_date"])
        except ValidationError as error:
            raise ApplicationError("No task was changed.", extra={"set": error.message_dict}) from error
    status = fields.pop("status", None)
    now = timezone.now()
    changed = []
    for task in locked:
        change = _TaskChange()
        _apply_fields(task, fields, change=change)
        _apply_status(task, status, by=by, change=change)
        if change.visible:
            task.updated_at = now  # bulk_update() does not stamp auto_now fields
            changed.append((task, change))
    if changed:
        columns = {column for _, change in changed for column in change.columns_to_save()}
        Task.objects.bulk_update([task for task, _ in changed], sorted(columns))
        TaskStatusHistory.objects.bulk_create(change.history for _, change in changed if change.history)
        tasks_updated.send(sender=Task, changes=[(task, change.visible) for task, change in changed], actor=by)
    return locked


@transaction.atomic
def task_mark_done(*, task: Task, by: User) -> Task:
    """Done now (late if past due or already failed). Marking a done task again changes nothing."""
    task = _locked(task)
    history = _change_status(task, Task.Status.DONE, by=by)
    if history:
        task.save(update_fields=["status", "completed_at", "completed_late", "updated_at"])
        history.save()
        tasks_updated.send(sender=Task, changes=[(task, ["status"])], actor=by)
    return task


@transaction.atomic
def task_assign(*, task: Task, assignees: Sequence[User], by: User) -> list[int]:
    """Add assignees (those already on the task are left as they are); returns all ids."""
    task = _locked(task)
    added = _add_assignees(task, assignees, by=by)
    if added:
        task.save(update_fields=["assigned_by", "updated_at"])
        tasks_assigned.send(sender=Task, assignments=[(task, added)], actor=by)
    return _assignee_ids(task)


@transaction.atomic
def task_unassign(*, task: Task, assignees: Sequence[User], by: User) -> list[int]:
    """Take users off the task (those not on it are ignored); returns the remaining ids."""
    task = _locked(task)
    if _remove_assignees(task, assignees, by=by):
        task.save(update_fields=["updated_at"])
        tasks_updated.send(sender=Task, changes=[(task, ["assignees"])], actor=by)
    return _assignee_ids(task)


@transaction.atomic
def task_delegate(*, task: Task, by: User, to: User) -> Task:
    """A current assignee hands the task to `to`: one `delegated` record names both."""
    task = _locked(task)
    current = set(_assignee_ids(task))
    if by.pk not in current:
        raise Forbidden("Only a current assignee can delegate this task.")
    if to.pk in current:
        raise ValidationError({"to": "This user is already assigned to the task."})
    task.assignees.remove(by)
    task.assignees.add(to)
    TaskAssignment.objects.create(
        task=task, assigned_to=to, assigned_by=by, action=TaskAssignment.Action.DELEGATED
    )
    task.is_delegated = True
    task.assigned_by = by
    task.save(update_fields=["is_delegated", "assigned_by", "updated_at"])
    tasks_assigned.send(sender=Task, assignments=[(task, [to])], actor=by)
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """Soft delete: the row stays (admin shows it) and leaves every API answer."""
    Task.objects.filter(pk=task.pk).update(deleted_at=timezone.now(), updated_at=timezone.now())
