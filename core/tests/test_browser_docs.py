"""Headless Chromium opens Swagger UI, ReDoc and the admin with every request outside this
machine blocked: the docs render the whole API from assets the project serves itself."""

import shutil
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (see README)"),
]


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context()
        page = context.new_page()
        page.outside_requests = []

        def only_local(route):
            if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                page.outside_requests.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        yield page
        browser.close()


def test_swagger_ui_renders_every_operation_offline(gunicorn, page):
    page.goto(f"{gunicorn}/api/v1/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)

    operations = page.locator(".opblock").count()
    assert operations > 40
    assert page.locator("button.authorize").count() == 1
    assert page.outside_requests == []


def test_redoc_renders_offline(gunicorn, page):
    page.goto(f"{gunicorn}/api/v1/redoc/")
    page.wait_for_selector("text=Taskhub API", timeout=30_000)

    assert page.get_by_text("/api/v1/task-api/execute/").count() >= 1
    # The ReDoc bundle always tries its vendor's logo and hides it when that fails; nothing
    # else (no fonts, no scripts) may come from outside.
    assert [u for u in page.outside_requests if not u.endswith("/redoc/logo-mini.svg")] == []


def test_admin_login_page_is_styled_offline(gunicorn, page):
    page.goto(f"{gunicorn}/admin/login/")

    header = page.locator("#header")
    assert header.count() == 1
    # base.css loaded: the header gets the admin's coloured background, not the browser default.
    background = header.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    assert page.outside_requests == []
