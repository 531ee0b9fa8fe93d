"""`?expand=`: related ids a client asks to receive as objects instead.

The view reads the names once, before it does anything (an unknown one is a 400 naming it),
hands them to its selector (which joins what they need, so the query count does not move)
and to its serializer as `context["expand"]`.
"""

from collections.abc import Collection, Sequence

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

EXPAND = "expand"


def requested_expansions(request, names: Sequence[str]) -> frozenset[str]:
    """The comma-separated names of `?expand=`; an empty value names none. An unknown name, or an
    empty one in a list (`creator,`), is a 400 naming it."""
    value = request.query_params.get(EXPAND, "")
    asked = value.split(",") if value else []
    unknown = [name for name in dict.fromkeys(asked) if name not in names]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ValidationError({EXPAND: [f"Unknown expansion: {listed}. Choose from: {', '.join(names)}."]})
    return frozenset(asked)


def expand_parameter(names: Sequence[str], description: str) -> OpenApiParameter:
    return OpenApiParameter(
        EXPAND,
        {"type": "array", "items": {"type": "string", "enum": list(names)}},
        OpenApiParameter.QUERY,
        style="form",
        explode=False,
        description=f"Comma-separated; {description}",
    )


class ExpandableField(serializers.Field):
    """A related row's id, or the row as `brief` renders it when `?expand=` names `expansion`.

    `source` is the relation (e.g. "author"); unexpanded, only its `<source>_id` is read.
    """

    def __init__(self, *, brief: type[serializers.Serializer], expansion: str | None = None, **kwargs):
        self.brief = brief
        self.expansion = expansion
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        self.expansion = self.expansion or field_name

    def _expanded(self) -> bool:
        return self.expansion in self.context.get(EXPAND, ())

    def get_attribute(self, instance):
        if self._expanded():
            return super().get_attribute(instance)
        return getattr(instance, f"{self.source}_id")

    def to_representation(self, value):
        return self.brief().to_representation(value) if self._expanded() else value


class ExpandableFieldScheme(OpenApiSerializerFieldExtension):
    """Documents an ExpandableField as what it answers: the id, or the object when expanded."""

    target_class = ExpandableField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        brief = auto_schema.resolve_serializer(self.target.brief, direction)
        return {
            "oneOf": [{"type": "integer"}, brief.ref],
            "description": f"The id; the object with `?expand={self.target.expansion}`.",
        }


class ExpandMixin:
    """For a view: `self.expand`, the names `?expand=` asks for among `expansions`, read in
    `initial` (after authentication and permissions, before anything is written, so a bad name
    never follows a write) and handed to serializers as `context["expand"]`.

    Only the actions in `expanding_actions` (the ones answering the expandable objects) read it.
    """

    expansions: Sequence[str] = ()
    expanding_actions: Collection[str] = ()
    expand: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action in self.expanding_actions:
            self.expand = requested_expansions(request, self.expansions)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), EXPAND: self.expand}
