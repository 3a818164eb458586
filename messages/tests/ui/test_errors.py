"""Error pages: people get the site's layout with a way back; /v1 and /webhooks keep JSON."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _styled(response, status, heading):
    body = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert f"<h1>{heading}</h1>" in body
    assert '<a href="/" class="button primary" id="back-to-inbox">Back to inbox</a>' in body
    assert 'href="/static/mail/app.css"' in body and 'rel="icon"' in body
    return body


def test_an_unknown_page_is_the_styled_404(staff_client):
    _styled(staff_client.get("/no/such/page"), 404, "This page does not exist")


def test_another_organizations_thread_is_the_styled_404(staff_client, other_inbox):
    from messages.tests.factories import MessageFactory, ThreadFactory

    theirs = MessageFactory(inbox=other_inbox, thread=ThreadFactory(inbox=other_inbox))
    body = _styled(
        staff_client.get(f"/threads/{theirs.thread.public_id}"), 404, "This page does not exist"
    )
    assert theirs.subject not in body


def test_a_member_on_an_owner_page_gets_the_styled_403(client, org):
    from inboxes.tests.factories import MembershipFactory

    client.force_login(MembershipFactory(organization=org, role="member").user)
    body = _styled(client.get("/keys"), 403, "You cannot open this page")
    assert "Only the organization&#x27;s owners can open this page." in body


def test_a_wrong_method_is_the_styled_405(staff_client):
    response = staff_client.delete("/compose")
    _styled(response, 405, "This address does not take that request")
    assert response["Allow"] == "GET, POST"


def test_a_form_with_an_expired_csrf_token_is_the_styled_page_with_the_way_back(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(
        "/threads/thread_x/reply",
        {"text": "hello"},
        HTTP_REFERER="http://testserver/threads/thread_x",
    )
    body = _styled(response, 403, "This form expired before it was sent")
    assert 'href="http://testserver/threads/thread_x" id="back-to-page"' in body
    # A referer elsewhere is not offered as the way back.
    response = client.post("/compose", {}, HTTP_REFERER="https://evil.example/")
    assert "evil.example" not in response.content.decode()


def test_a_server_error_is_the_styled_500(staff_user, settings, monkeypatch):
    from messages.ui.views import threads

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(threads, "home", broken)
    import importlib

    from django.urls import clear_url_caches

    import messages.ui.urls
    import sendook.urls

    importlib.reload(messages.ui.urls)
    importlib.reload(sendook.urls)
    clear_url_caches()
    try:
        client = Client(raise_request_exception=False)
        client.force_login(staff_user)
        _styled(client.get("/"), 500, "Something went wrong on our side")
    finally:
        monkeypatch.undo()
        importlib.reload(messages.ui.urls)
        importlib.reload(sendook.urls)
        clear_url_caches()


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/inboxes/inbox_nope", "/webhooks/nope"])
def test_machine_paths_keep_json_404s(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] in ("not_found", "inbox_not_found")


def test_machine_paths_keep_json_on_a_wrong_method(api_client):
    response = api_client.delete("/v1/inboxes")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert "Back to inbox" not in response.content.decode()


def test_the_csrf_failure_view_answers_json_under_v1(rf):
    from sendook.views import csrf_failure

    response = csrf_failure(rf.post("/v1/inboxes"), reason="CSRF cookie not set.")
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    page = csrf_failure(rf.post("/compose"), reason="CSRF cookie not set.")
    assert page.status_code == 403 and b"Back to inbox" in page.content


def test_the_favicon_answers_without_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/mail/favicon.svg"
    page = client.get("/login").content.decode()
    assert '<link rel="icon" href="/static/mail/favicon.svg" type="image/svg+xml">' in page
