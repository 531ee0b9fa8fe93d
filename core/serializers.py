from django.utils.functional import cached_property


class SharedFieldsMixin:
    """Build an output serializer's fields once per class instead of once per response.

    DRF builds every field of every serializer instance anew (a ModelSerializer inspects
    the model each time); for a small object that is most of the cost of rendering it.
    The shared fields are bound to a template instance that has no data and no context,
    so use this only on read-only serializers whose fields need neither `context` nor the
    serializer instance (method fields must not read `self.context` or `self.instance`),
    or on input serializers of plain fields: validating with a field keeps no state in it,
    its errors and validated values go to the serializer instance, and `validate_<field>`
    methods are the instance's own.
    """

    @cached_property
    def fields(self):
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            template = cls()
            # The ordinary, per-instance build, done once on the template.
            shared = super(SharedFieldsMixin, template).fields
            cls._shared_fields = shared
        return shared
