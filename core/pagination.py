import re

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

DIGITS = re.compile(r"[0-9]+")


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 10, capped at 100).

    DRF would quietly use the default page size for a `page_size` that is not a number; a
    client that sent one has a bug it should hear about, so that is a 400 naming it. An
    empty value is no value, as for the filters; a number above the cap is capped.
    """

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not DIGITS.fullmatch(raw) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: ["A positive whole number is required."]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Number of results per page (default {self.page_size}; above {self.max_page_size}, "
                    f"{self.max_page_size})."
                )
        return parameters
