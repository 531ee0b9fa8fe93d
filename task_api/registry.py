"""The tasks `@api_task` made runnable through the API, with what each one needs and accepts."""

import inspect
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

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

    @property
    def parameters(self) -> list[Parameter]:
        return [_describe(p) for p in self.signature.parameters.values()]

    def check_arguments(self, args: list, kwargs: dict) -> None:
        """Raise ValidationError naming the problem when args/kwargs do not fit the signature."""
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ValidationError({"arguments": f"{self.name}: {exc}"}) from exc


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


class TaskRegistry:
    def __init__(self):
        self._tasks: dict[str, RegisteredTask] = {}

    def register(self, task, *, permissions, description: str) -> RegisteredTask:
        entry = RegisteredTask(
            name=task.name,
            description=description,
            permissions=tuple(permissions),
            signature=signature_of(task),
            task=task,
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
