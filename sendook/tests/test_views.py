"""Project-level views: the health probe."""

import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["healthy"] is True
    assert response.json()["database"] == "ok"
