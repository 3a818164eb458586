"""docs/api.md, the API guide users read, names exactly the routes the server has."""

import asyncio
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
# A route as the guide writes it: `GET /v1/inboxes/{inbox_id}/messages` (query string aside).
ROUTE = re.compile(r"`(GET|POST|PATCH|PUT|DELETE) (/v1/[^`?\s]*)")
METHODS = ("get", "post", "put", "patch", "delete")


def _shape(path: str) -> str:
    """Path parameters compared by position only: `{id}` and `{nameOrId}` are the same slot."""
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))


def _guide_routes() -> set[tuple[str, str]]:
    return {(method, _shape(path)) for method, path in ROUTE.findall(GUIDE.read_text())}


def _schema_routes(client) -> set[tuple[str, str]]:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    return {
        (method.upper(), _shape(path))
        for path, operations in paths.items()
        for method in operations
        if method in METHODS
    }


def test_every_route_the_guide_names_exists_in_the_openapi_schema(client):
    named = _guide_routes()
    assert len(named) > 20, "the guide's routes were not found: has its format changed?"
    assert named - _schema_routes(client) == set()


def test_every_route_in_the_openapi_schema_is_described_in_the_guide(client):
    assert _schema_routes(client) - _guide_routes() == set()


def test_every_resource_section_of_the_guide_shows_a_curl_example():
    sections = re.split(r"^## ", GUIDE.read_text(), flags=re.MULTILINE)[1:]
    resources = [s for s in sections if ROUTE.search(s)]
    assert len(resources) >= 7
    for section in resources:
        assert "curl " in section, section.splitlines()[0]


def test_the_guides_mcp_section_names_every_tool_the_mcp_server_offers():
    from messages.mcp_server.app import server

    offered = {tool.name for tool in asyncio.run(server.list_tools())}
    (section,) = [
        s for s in re.split(r"^## ", GUIDE.read_text(), flags=re.M) if s.startswith("MCP")
    ]
    named = set(re.findall(r"`([a-z_]+)`", section))
    assert len(offered) >= 10
    assert offered - named == set()
