"""`?expand=author` on comments turns the author id into the person, in the same queries."""

import pytest

from comments.models import Comment

from .factories import CommentFactory

LIST_QUERIES = 2  # as test_queries.py: count, page (the authors are joined into the page)
TASK_LIST_QUERIES = 3  # the task, count, page
DETAIL_QUERIES = 1


def person(user):
    return {"id": user.pk, "external_id": str(user.external_id), "name": user.name, "email": user.email,
            "role": user.role}


def test_comment_answers_expand_the_author(cast, task, world, client_for):
    client = client_for(cast["assignee"])
    comment = world["comment"]

    listed = client.get("/api/v1/comments/", {"expand": "author"}).json()["results"]
    of_task = client.get(f"/api/v1/tasks/{task.external_id}/comments/", {"expand": "author"}).json()["results"]
    detail = client.get(f"/api/v1/comments/{comment.pk}/", {"expand": "author"}).json()
    created = client.post("/api/v1/comments/?expand=author", {"task": task.pk, "content": "Mine"}, format="json")
    added = client.post(f"/api/v1/tasks/{task.pk}/comments/?expand=author", {"content": "Also"}, format="json")

    assert [c["author"] for c in listed] == [person(cast["colleague"])]
    assert [c["author"] for c in of_task] == [person(cast["colleague"])]
    assert detail["author"] == person(cast["colleague"])
    assert created.json()["author"] == added.json()["author"] == person(cast["assignee"])


def test_the_author_edits_with_the_expanded_answer(cast, world, client_for):
    comment = world["comment"]

    response = client_for(cast["colleague"]).patch(
        f"/api/v1/comments/{comment.pk}/?expand=author", {"content": "edited"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["author"] == person(cast["colleague"]) and response.json()["content"] == "edited"


def test_only_expand_author_makes_the_author_a_person(cast, world, client_for):
    client = client_for(cast["creator"])

    plain = client.get("/api/v1/comments/").json()["results"]
    expanded = client.get("/api/v1/comments/", {"expand": "author"}).json()["results"]

    assert [c["author"] for c in plain] == [cast["colleague"].pk]
    assert [c["author"] for c in expanded] == [person(cast["colleague"])]


@pytest.mark.parametrize("expand", ["task", "creator", "author,task"])
def test_an_unknown_expansion_is_a_400_and_adds_nothing(expand, cast, task, world, client_for):
    client = client_for(cast["creator"])
    before = world["snapshot"]()

    responses = [
        client.get("/api/v1/comments/", {"expand": expand}),
        client.get(f"/api/v1/tasks/{task.pk}/comments/", {"expand": expand}),
        client.post(f"/api/v1/comments/?expand={expand}", {"task": task.pk, "content": "x"}, format="json"),
        client.post(f"/api/v1/tasks/{task.pk}/comments/?expand={expand}", {"content": "x"}, format="json"),
    ]

    assert [(r.status_code, list(r.json())) for r in responses] == [(400, ["expand"])] * 4
    assert world["snapshot"]() == before


@pytest.mark.parametrize("persona", ["ceo", "assignee"])
@pytest.mark.parametrize("page_size", [1, 50])
def test_expanded_lists_run_a_fixed_number_of_queries(
    page_size, persona, cast, many, client_for, django_assert_max_num_queries
):
    task = many[0]
    CommentFactory.create_batch(5, task=task, author=cast["creator"])
    client = client_for(cast[persona])

    with django_assert_max_num_queries(LIST_QUERIES):
        listed = client.get("/api/v1/comments/", {"page_size": page_size, "expand": "author"})
    with django_assert_max_num_queries(TASK_LIST_QUERIES):
        of_task = client.get(f"/api/v1/tasks/{task.pk}/comments/", {"page_size": page_size, "expand": "author"})

    assert len(listed.json()["results"]) == min(page_size, Comment.objects.count())
    assert len(of_task.json()["results"]) == min(page_size, 7)
    assert all(isinstance(c["author"], dict) for c in listed.json()["results"] + of_task.json()["results"])


def test_expanded_detail_runs_one_query(cast, many, client_for, django_assert_max_num_queries):
    comment = many[0].comments.first()

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client_for(cast["ceo"]).get(f"/api/v1/comments/{comment.pk}/", {"expand": "author"})

    assert response.json()["author"] == person(cast["assignee"])
