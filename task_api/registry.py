"""The tasks `@api_task` made runnable through the API, with what each one needs and accepts."""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.VAR_POSITIONAL: "positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword",
    inspect.Parameter.VAR_KEYWORD: "keyword",
}


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    required: bool
    default: Any = None

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "required": self.required, "default": self.default}


@dataclass(frozen=True)
class RegisteredTask:
    name: str
    description: str
    permissions: tuple[str, ...]
    signature: inspect.Signature
    task: Any = field(compare=False, repr=False)
    # fn(user, args, kwargs) from `@api_task(authorize=...)`: may this user make this call?
    authorize: Callable | None = field(default=None, compare=False, repr=False)

    @property
    def parameters(self) -> list[Parameter]:
        return [_describe(p) for p in self.signature.parameters.values()]

    def check_arguments(self, args: list, kwargs: dict) -> None:
        """Raise ValidationError naming the problem when args/kwargs do not fit the signature."""
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ValidationError({"arguments": f"{self.name}: {exc}"}) from exc

    def refusal(self, user, args: list, kwargs: dict) -> str | None:
        """Why `authorize` refuses this call (None when it allows it or there is none).

        The function may return a falsy value (refused with a generic reason) or raise
        Django's PermissionDenied whose message is the reason. A ValidationError
        it raises propagates (400); call it only with arguments that fit the signature.
        """
        if self.authorize is None:
            return None
        try:
            allowed = self.authorize(user, args, kwargs)
        except PermissionDenied as exc:
            return str(exc) or self._default_refusal()
        return None if allowed else self._default_refusal()

    def _default_refusal(self) -> str:
        return f"You may not run {self.name} with these arguments."


def _describe(param: inspect.Parameter) -> Parameter:
    variadic = param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if variadic:
        prefix = "*" if param.kind == inspect.Parameter.VAR_POSITIONAL else "**"
        return Parameter(name=prefix + param.name, kind=_KINDS[param.kind], required=False)
    required = param.default is inspect.Parameter.empty
    default = None if required else param.default
    if default is not None and not isinstance(default, (str, int, float, bool, list, dict)):
        default = repr(default)  # the listing is JSON; show what a client could not send anyway
    return Parameter(name=param.name, kind=_KINDS[param.kind], required=required, default=default)


def signature_of(task) -> inspect.Signature:
    """The signature a caller fills: `task.run` minus the bound `self` of `bind=True` tasks."""
    return inspect.signature(task.run)


def as_id(value) -> int | None:
    """An id as a client may send it (a JSON number or a string of digits); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def call_arguments(task, args: list, kwargs: dict) -> dict[str, Any]:
    """A call's arguments by parameter name, defaults filled in: what `authorize` functions check.

    Raises TypeError when they do not fit (the API checks that before `authorize` runs).
    """
    bound = signature_of(task).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


class TaskRegistry:
    def __init__(self):
        self._tasks: dict[str, RegisteredTask] = {}

    def register(self, task, *, permissions, description: str, authorize: Callable | None = None) -> RegisteredTask:
        entry = RegisteredTask(
            name=task.name,
            description=description,
            permissions=tuple(permissions),
            signature=signature_of(task),
            task=task,
            authorize=authorize,
        )
        self._tasks[entry.name] = entry
        return entry

    def get(self, name: str) -> RegisteredTask | None:
        return self._tasks.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._tasks

    def all(self) -> list[RegisteredTask]:
        return sorted(self._tasks.values(), key=lambda entry: entry.name)


registry = TaskRegistry()
