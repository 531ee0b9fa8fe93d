"""Under gunicorn with production settings, the API docs and the admin get every script and
stylesheet from the project itself (WhiteNoise + drf-spectacular-sidecar), no collectstatic."""

import re
import urllib.request

import pytest


def assets_of(html):
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/", "/admin/login/"])
def test_pages_and_all_their_assets_are_served_locally(gunicorn, page):
    html = urllib.request.urlopen(gunicorn + page, timeout=10).read().decode()

    assets = assets_of(html)
    assert assets, page
    assert "cdn." not in html and "//unpkg" not in html
    for asset in assets:
        response = urllib.request.urlopen(gunicorn + asset, timeout=10)
        assert response.status == 200, asset
        assert len(response.read()) > 0, asset
