"""The interactive API docs load nothing from another origin."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_swagger_ui_from_this_server_only(client):
    response = client.get("/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    scripts_and_styles = [a for a in assets if a.endswith((".js", ".css", ".png"))]
    assert scripts_and_styles, page[:500]
    for asset in scripts_and_styles:
        assert asset.startswith("/static/"), asset  # same origin, never a CDN
    assert "cdn.jsdelivr.net" not in page and "@latest" not in page
    for asset in scripts_and_styles:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])
