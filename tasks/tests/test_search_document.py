"""`?search=` through the stored search document (migration 0008) finds exactly what icontains
on the title, the description and the assignees' names finds, for every persona, on PostgreSQL
and SQLite; and a manager's department part is read from the trigram index with its department."""

import re
from types import SimpleNamespace

import pytest
from django.db.models import Q

from accounts.tests.factories import UserFactory
from tasks.filters import TaskFilter
from tasks.models import Task
from tasks.selectors import task_list

from .factories import TaskFactory
from .test_scale_plans import listed, plan_of

SEARCHES = [
    "budget", "BUDGET", "bUdGeT", "quarterly budget", "roadmap", "zoë", "ZOË", "ålander", "café", "CRÈME",
    "%", "_", "\\", "100%", "done_ok", "done%ok", "c:\\temp", "boundary", "bound ary", "undary", "bound",
    "budget roadmap", "budget,quarterly", "  budget  ", "ümlaut", "nothing-here",
    # a word of the text and a word of a name on the same task, or on different ones
    "plain zoë", "zoë ålander", "ålander nothing", "quarterly zoë", "zoë budget roadmap",
]


@pytest.fixture
def searched(cast):
    """Tasks of dept_a (the manager's) the `assignee` employee is on, one in dept_b they are on
    too, and one they are not on: each holds the searched words in one place only."""
    zoe = UserFactory(name="Zoë Ålander", department=cast["dept_a"])
    on = [cast["assignee"]]
    rows = {
        "title": dict(title="Quarterly Budget", description="numbers"),
        "description": dict(title="Hiring", description="the ROADMAP for next year"),
        "name": dict(title="Plain", description="nothing", assignees=[*on, zoe]),
        "symbols": dict(title="100% done_ok", description="path C:\\temp"),
        "split": dict(title="Bound", description="ary"),
        "accents": dict(title="Café crème", description="Über ÜMLAUT"),
    }
    tasks = {
        key: TaskFactory(creator=cast["creator"], department=cast["dept_a"], **{"assignees": on, **fields})
        for key, fields in rows.items()
    }
    tasks["elsewhere"] = TaskFactory(
        title="Budget elsewhere", description="", creator=cast["outsider"], department=cast["dept_b"], assignees=on
    )
    tasks["unseen"] = TaskFactory(title="Budget unseen", description="", creator=cast["outsider"], department=None)
    return tasks


def icontains_reference(user, text: str) -> set[int]:
    """The meaning of `?search=` written with Django's own icontains, as before the document."""
    words = Q()
    for word in text.replace(",", " ").split():
        words &= Q(title__icontains=word) | Q(description__icontains=word) | Q(assignees__name__icontains=word)
    return set(task_list(user=user).filter(words).values_list("pk", flat=True).distinct())


@pytest.mark.parametrize("persona", ["ceo", "manager", "assignee"])
def test_search_finds_what_icontains_finds(persona, cast, searched, client_for):
    client = client_for(cast[persona])
    for text in SEARCHES:
        body = client.get("/api/v1/tasks/", {"search": text, "page_size": 100}).json()
        found = {row["id"] for row in body["results"]}

        assert found == icontains_reference(cast[persona], text), text
        assert (body["count"], body["count_exact"]) == (len(found), True), text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("budget", {"title", "elsewhere", "unseen"}),
        ("BUDGET", {"title", "elsewhere", "unseen"}),
        ("roadmap", {"description"}),
        ("quarterly budget", {"title"}),
        ("budget roadmap", set()),
        ("%", {"symbols"}),
        ("_", {"symbols"}),
        ("\\", {"symbols"}),
        ("done%ok", set()),
        ("boundary", set()),  # a word across the title/description joint is no match
        ("bound ary", {"split"}),
        ("café", {"accents"}),
        ("zoë", {"name"}),
        ("plain zoë", {"name"}),
        ("Ålander nothing", {"name"}),
        ("quarterly zoë", set()),
    ],
)
def test_search_answers(text, expected, cast, searched, client_for):
    rows = client_for(cast["ceo"]).get("/api/v1/tasks/", {"search": text, "page_size": 100}).json()["results"]

    by_id = {task.pk: key for key, task in searched.items()}
    assert {by_id[row["id"]] for row in rows} == expected


def test_the_document_follows_title_and_description(cast, searched, client_for):
    task = searched["title"]
    Task.objects.filter(pk=task.pk).update(title="Renamed", description="Budget moved here")

    client = client_for(cast["ceo"])
    assert task.pk in {row["id"] for row in client.get("/api/v1/tasks/", {"search": "moved"}).json()["results"]}
    assert task.pk not in {row["id"] for row in client.get("/api/v1/tasks/", {"search": "quarterly"}).json()["results"]}


@pytest.mark.parametrize("persona", ["ceo", "manager", "assignee"])
def test_search_query_count(persona, cast, searched, client_for, django_assert_max_num_queries):
    # count + page + assignee ids, as without a search.
    with django_assert_max_num_queries(3):
        body = client_for(cast[persona]).get("/api/v1/tasks/", {"search": "budget quarterly"}).json()

    assert body["count"] == 1 and len(body["results"]) == 1


@pytest.mark.services
def test_a_managers_department_part_is_found_in_the_search_index(cast, some_tasks):
    ids = TaskFilter({"search": "budget"}, queryset=task_list(user=cast["manager"])).qs.order_by().values("pk")
    departments, involved = ids.query.count_parts(ids)

    plan = plan_of(departments, seqscan=False)

    # Department and words in one scan of the one trigram index, not every match then its department.
    assert re.search(r"Index Cond: \(\(department_id = ANY .*search_document ~~", plan), plan
    assert "task_title_trgm_idx" not in plan and "task_description_trgm_idx" not in plan, plan


@pytest.mark.services
def test_several_words_are_one_scan_of_the_search_index(cast, some_tasks):
    plan = plan_of(listed(cast["ceo"], {"search": "budget review"}).order_by(), seqscan=False)

    # No assignee's name has a word: the words are ANDed inside one index scan, not read apart.
    both = r"Index Cond: \(\(search_document ~~ '%BUDGET%'::text\) AND \(search_document ~~ '%REVIEW%'"
    assert re.search(both, plan), plan


@pytest.mark.services
def test_an_employees_search_tests_their_own_tasks_only(cast, some_tasks):
    employee = cast["assignee"]
    request = SimpleNamespace(user=employee)
    searched = TaskFilter({"search": "budget"}, queryset=task_list(user=employee), request=request)

    plan = plan_of(searched.qs.order_by()[:10])

    # Their tasks gathered from the indexes of who they are, the words tested on those rows:
    # not every match of a common word in the table gathered from the trigram index.
    assert "BitmapOr" in plan and "task_dept_search_trgm_idx" not in plan, plan
