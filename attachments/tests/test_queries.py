"""Every list and detail endpoint runs a fixed number of queries whatever the page size."""

import pytest

# Authentication is forced, so these are the endpoint's own queries.
LIST_QUERIES = 2  # count, page
DETAIL_QUERIES = 1


@pytest.mark.parametrize("persona", ["ceo", "manager", "assignee"])
@pytest.mark.parametrize("page_size", [1, 100])
@pytest.mark.parametrize("path", ["/api/v1/attachments/"])
def test_lists(path, page_size, persona, cast, many, client_for, django_assert_max_num_queries):
    client = client_for(cast[persona])

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(path, {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 24)


@pytest.mark.parametrize("persona", ["ceo", "manager", "assignee"])
@pytest.mark.parametrize("suffix", ["", "download/"])
def test_attachment_detail(suffix, persona, cast, many, client_for, django_assert_max_num_queries):
    attachment = many[3].attachments.first()
    client = client_for(cast[persona])

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/v1/attachments/{attachment.pk}/{suffix}")

    assert response.status_code == 200

