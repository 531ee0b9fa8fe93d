"""Headless Chromium reads the staff's view at 1366 × 768: the dashboard's charts carry numbers,
no list scrolls sideways, and nothing is fetched from outside 127.0.0.1. Screenshots of each
page are kept under var/artifacts/screenshots/."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core.tests.conftest import running_gunicorn
from staff.tests.seed import ADMIN_EMAIL, ADMIN_PASSWORD

CHROMIUM = "/usr/bin/chromium"
BASE_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = BASE_DIR / "var" / "artifacts" / "screenshots"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (see README)"),
]

LISTS = {
    "executions": "/admin/task_api/taskexecution/",
    "tasks": "/admin/tasks/task/",
    "notifications": "/admin/notifications/notification/",
    "outbox": "/admin/notifications/emailoutbox/",
}


@pytest.fixture(scope="module")
def seeded_site(tmp_path_factory):
    """gunicorn on a migrated SQLite database seeded with 60 tasks and executions and stuck rows.

    DEBUG off but not production: production cookies are Secure, which a plain-http test
    server could not keep.
    """
    tmp_path = tmp_path_factory.mktemp("staff-browser")
    env = {
        **os.environ,
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SHARED_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True, timeout=240)
    subprocess.run([*manage, "shell", "-c", "from staff.tests.seed import seed; seed(60)"],
                   cwd=BASE_DIR, env=env, check=True, timeout=120)
    with running_gunicorn(tmp_path, env, "-w", "1") as (base, _):
        yield base


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def staff_page(browser, seeded_site):
    """A 1366 × 768 page logged into the admin; `outside_requests` records any request leaving 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.outside_requests = []

    def only_local(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            page.outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page.goto(f"{seeded_site}/admin/login/")
    page.fill("#id_username", ADMIN_EMAIL)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#staff-dashboard", timeout=30_000)
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def horizontal_overflow(page):
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_dashboard_draws_its_charts_with_numbers(staff_page, seeded_site):
    staff_page.goto(f"{seeded_site}/admin/")

    charts = staff_page.locator("svg.th-chart")
    assert charts.count() == 3
    for index in range(3):
        chart = charts.nth(index)
        assert chart.locator("rect").count() > 0
        numbers = [t for t in chart.locator("text").all_text_contents() if t.strip().isdigit()]
        assert numbers, f"chart {index} carries no numbers"
    assert int(staff_page.inner_text('[data-metric="stuck"]')) == 3
    assert staff_page.locator("#stuck button").count() == 5  # resend; mark failed + re-run, twice
    assert staff_page.inner_text('[data-queue="default"]').strip().isdigit()
    assert horizontal_overflow(staff_page) <= 0
    screenshot(staff_page, "dashboard")
    assert staff_page.outside_requests == []


@pytest.mark.parametrize("name", list(LISTS))
def test_lists_fit_1366_pixels(staff_page, seeded_site, name):
    staff_page.goto(f"{seeded_site}{LISTS[name]}")
    staff_page.wait_for_selector("#result_list")

    assert staff_page.locator("#result_list tbody tr").count() > 0
    assert horizontal_overflow(staff_page) <= 0, f"{name} scrolls sideways"
    screenshot(staff_page, f"list-{name}")
    assert staff_page.outside_requests == []


def test_the_stuck_list_fixes_a_lost_run_from_the_dashboard(staff_page, seeded_site):
    staff_page.goto(f"{seeded_site}/admin/")
    row = staff_page.locator('table[data-source="executions"] tbody tr', has_text="STARTED")

    row.get_by_role("button", name="Mark failed").click()
    staff_page.wait_for_selector(".messagelist")

    assert "marked failed" in staff_page.inner_text(".messagelist")
    assert int(staff_page.inner_text('[data-metric="stuck"]')) == 2
    screenshot(staff_page, "dashboard-after-fix")
