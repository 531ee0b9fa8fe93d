"""Writes on tasks. Every status change leaves a TaskStatusHistory row and every change of
assignees a TaskAssignment row, in the same transaction as the change itself; each write then
announces itself through `tasks.events`, still inside that transaction."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from core.exceptions import Forbidden

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
    if status != Task.Status.TODO:
        raise ValidationError({"status": "New tasks start as todo."})
    _check_future(due_date)
    task = Task(
        creator=creator,
        title=title,
        description=description,
        priority=priority,
        department=creator.department if department is _CREATOR_DEPARTMENT else department,
        due_date=due_date,
        estimate_hours=estimate_hours,
        status="",
    )
    history = _change_status(task, Task.Status.TODO, by=creator)
    if assignees:
        task.assigned_by = creator
    task.save()
    history.save()
    added = _add_assignees(task, assignees, by=creator)
    tasks_created.send(sender=Task, tasks=[task], actor=creator)
    if added:
        tasks_assigned.send(sender=Task, assignments=[(task, added)], actor=creator)
    return task


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
