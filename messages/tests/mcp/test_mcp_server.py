"""/mcp end to end: the MCP SDK's own client against the live ASGI process (uvicorn), with the
REST API to set things up, as an agent and its operator would."""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
import socket
import time

import httpx

from messages.tests.mcp.conftest import Rest, call, mcp_session, refused

TOOLS = {
    "list_inboxes",
    "get_inbox",
    "list_threads",
    "get_thread",
    "get_thread_context",
    "list_messages",
    "search_messages",
    "get_message",
    "send_message",
    "reply_to_message",
    "reply_all",
    "forward_message",
    "create_draft",
    "update_draft",
    "send_draft",
    "add_labels",
    "remove_labels",
    "update_thread",
    "add_note",
    "wait_for_message",
}


async def _received(session, inbox_id: str, subject: str, *, within: float = 10) -> dict:
    """Poll the inbox for a received message with this subject (local delivery is a task)."""
    deadline = time.monotonic() + within
    while True:
        found = await call(session, "search_messages", inboxId=inbox_id, query=f'"{subject}"')
        received = [m for m in found["messages"] if m["direction"] == "inbound"]
        if received:
            return received[0]
        assert time.monotonic() < deadline, f"{subject!r} never arrived"
        await asyncio.sleep(0.1)


def test_every_tool_has_a_description_and_an_input_schema(live_asgi, live_org):
    org, _ = live_org

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            tools = (await session.list_tools()).tools
            templates = (await session.list_resource_templates()).resourceTemplates
            resources = (await session.list_resources()).resources
            return tools, templates, resources

    tools, templates, resources = asyncio.run(scenario())
    assert {tool.name for tool in tools} == TOOLS
    for tool in tools:
        assert len(tool.description or "") > 40, tool.name
        assert "Returns" in tool.description, tool.name
        assert tool.inputSchema["type"] == "object", tool.name
        assert "\n" not in tool.description
    send = next(tool for tool in tools if tool.name == "send_message")
    assert set(send.inputSchema["required"]) == {"inboxId", "to", "subject"}
    assert [t.uriTemplate for t in templates] == ["sendook://threads/{threadId}"]
    assert [str(r.uri) for r in resources] == ["sendook://inboxes"]


def test_inboxes_made_over_rest_are_listed_and_read_over_mcp(live_asgi, live_org):
    org, rest = live_org
    made = [rest.inbox("Sales"), rest.inbox("Support")]

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            listed = await call(session, "list_inboxes")
            one = await call(session, "get_inbox", inboxId=made[0]["id"])
            paged = await call(session, "list_inboxes", limit=1)
            second = await call(session, "list_inboxes", limit=1, cursor=paged["nextCursor"])
            read = await session.read_resource("sendook://inboxes")
            return listed, one, paged, second, read

    listed, one, paged, second, read = asyncio.run(scenario())
    assert {i["id"] for i in listed["inboxes"]} >= {i["id"] for i in made}
    assert one == rest("GET", f"/inboxes/{made[0]['id']}")  # the REST API's JSON exactly
    assert paged["inboxes"][0]["id"] != second["inboxes"][0]["id"]
    assert made[0]["email"] in read.contents[0].text


def test_mail_sent_between_hosted_inboxes_is_read_back_and_worked(live_asgi, live_org):
    org, rest = live_org
    sender, receiver = rest.inbox("Sender"), rest.inbox("Receiver")
    subject = f"Quarterly numbers {secrets.token_hex(3)}"

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            started = time.monotonic()
            sent = await call(
                session,
                "send_message",
                inboxId=sender["id"],
                to=receiver["email"],
                subject=subject,
                text="Here are the numbers.\n\n-- \nAlice",
                labels=["finance"],
            )
            round_trip = time.monotonic() - started
            got = await _received(session, receiver["id"], subject)
            thread = await call(
                session, "get_thread", inboxId=receiver["id"], threadId=got["threadId"]
            )
            context = await session.call_tool(
                "get_thread_context", {"inboxId": receiver["id"], "threadId": got["threadId"]}
            )
            full = await call(session, "get_message", inboxId=receiver["id"], messageId=got["id"])
            resource = await session.read_resource(f"sendook://threads/{got['threadId']}")
            over_rest = await asyncio.to_thread(
                rest, "GET", f"/inboxes/{receiver['id']}/messages/{got['id']}"
            )
            threads = await call(session, "list_threads", inboxId=receiver["id"], status=["open"])
            reply = await call(
                session,
                "reply_to_message",
                inboxId=receiver["id"],
                messageId=got["id"],
                text="Thanks!",
                expectedLastMessageId=thread["lastMessageId"],
            )
            stale = await refused(
                session,
                "reply_all",
                inboxId=receiver["id"],
                messageId=got["id"],
                text="Again",
                expectedLastMessageId=got["id"],
            )
            labelled = await call(
                session,
                "add_labels",
                inboxId=receiver["id"],
                threadId=got["threadId"],
                labels=["q3"],
            )
            unlabelled = await call(
                session, "remove_labels", inboxId=receiver["id"], messageId=got["id"], labels=["q3"]
            )
            closed = await call(
                session,
                "update_thread",
                inboxId=receiver["id"],
                threadId=got["threadId"],
                status="closed",
                assignee="me",
            )
            note = await call(
                session, "add_note", inboxId=receiver["id"], threadId=got["threadId"], text="Done."
            )
            forwarded = await call(
                session,
                "forward_message",
                inboxId=receiver["id"],
                messageId=got["id"],
                to="boss@example.com",
                text="FYI",
            )
            return locals()

    seen = asyncio.run(scenario())
    assert seen["sent"]["status"] == "queued" and seen["sent"]["labels"] == ["finance"]
    assert seen["round_trip"] < 5, seen["round_trip"]
    print(f"send_message round trip: {seen['round_trip'] * 1000:.0f} ms")
    assert seen["full"] == seen["over_rest"]  # the REST API's JSON exactly
    assert seen["full"]["text"].startswith("Here are the numbers.")
    assert [m["id"] for m in seen["thread"]["messages"]] == [seen["got"]["id"]]
    assert json.loads(seen["resource"].contents[0].text) == seen["thread"]
    assert seen["got"]["threadId"] in [t["id"] for t in seen["threads"]["threads"]]
    assert (
        not seen["context"].isError and "Here are the numbers." in seen["context"].content[0].text
    )
    assert seen["context"].structuredContent["threadId"] == seen["got"]["threadId"]
    assert "Alice" not in seen["context"].structuredContent["messages"][0]["text"]  # signature gone
    assert (
        seen["reply"]["threadId"] == seen["got"]["threadId"]
        and sender["email"] in seen["reply"]["to"][0]
    )
    assert seen["stale"][1] == "thread_changed" and seen["reply"]["id"] in seen["stale"][0]
    assert "q3" in seen["labelled"]["labels"] and "q3" not in seen["unlabelled"]["labels"]
    assert seen["closed"]["status"] == "closed" and seen["closed"]["assignee"]["type"] == "api_key"
    assert seen["note"]["text"] == "Done." and seen["note"]["author"]["type"] == "api_key"
    assert seen["forwarded"]["to"] == ["boss@example.com"]


def test_a_send_held_by_the_inbox_policy_comes_back_pending_approval(live_asgi, live_org):
    org, rest = live_org
    inbox = rest.inbox("Supervised")
    rest("PATCH", f"/inboxes/{inbox['id']}", {"sendPolicy": {"approval": "always"}})

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            args = dict(inboxId=inbox["id"], to="client@example.com", subject="Offer", text="Hi")
            held = await call(session, "send_message", idempotencyKey="offer-1", **args)
            again = await call(session, "send_message", idempotencyKey="offer-1", **args)
            other = await refused(
                session, "send_message", idempotencyKey="offer-1", **{**args, "text": "Bye"}
            )
            draft = await call(session, "create_draft", inboxId=inbox["id"], subject="Later")
            edited = await call(
                session, "update_draft", inboxId=inbox["id"], draftId=draft["id"], text="Body"
            )
            unaddressed = await refused(
                session, "send_draft", inboxId=inbox["id"], draftId=draft["id"]
            )
            await call(
                session,
                "update_draft",
                inboxId=inbox["id"],
                draftId=draft["id"],
                to="x@example.com",
            )
            sent_draft = await call(session, "send_draft", inboxId=inbox["id"], draftId=draft["id"])
            return held, again, other, draft, edited, unaddressed, sent_draft

    held, again, other, draft, edited, unaddressed, sent_draft = asyncio.run(scenario())
    assert held["status"] == "pending_approval" and held["hold"]
    assert again["id"] == held["id"]  # one send per idempotencyKey
    assert other[1] == "idempotency_key_reused"
    approvals = rest("GET", "/approvals")
    assert held["id"] in [row.get("id", row.get("messageId")) for row in approvals] or any(
        held["id"] in str(row) for row in approvals
    )
    assert draft["status"] == "draft" and edited["text"] == "Body"
    assert unaddressed[1] == "validation_error" and "to" in unaddressed[0]
    assert sent_draft["id"] == draft["id"] and sent_draft["status"] == "pending_approval"


def test_sends_spend_the_organizations_send_budget_like_the_rest_api(live_asgi):
    org = live_asgi.new_org()
    rest = Rest(live_asgi.url, org.api_key)
    inbox = rest.inbox()
    live_asgi.manage(
        "shell",
        "-c",
        "from inboxes.models import Organization; "
        f"Organization.objects.filter(public_id='{org.id}').update(send_rate_limit='2/h')",
    )
    body = {"to": ["a@example.com"], "subject": "Hi", "text": "Hello"}

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            first = await call(session, "send_message", inboxId=inbox["id"], **body)
            rest("POST", f"/inboxes/{inbox['id']}/messages/send", body)  # the same budget
            over = await refused(session, "send_message", inboxId=inbox["id"], **body)
            reading = await call(session, "list_messages", inboxId=inbox["id"])
            return first, over, reading

    first, over, reading = asyncio.run(scenario())
    assert first["status"] == "queued"
    assert over[1] == "rate_limited" and "retryAfter" in over[0]
    assert len(reading["messages"]) == 2  # reads are not sends: still answered
    rest("POST", f"/inboxes/{inbox['id']}/messages/send", body, status=429)


def test_wait_for_message_returns_as_soon_as_mail_arrives(live_asgi, live_org):
    org, rest = live_org
    sender, receiver = rest.inbox("Sender"), rest.inbox("Waiter")
    subject = f"Ping {secrets.token_hex(3)}"

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            started = time.monotonic()
            quiet = await call(
                session, "wait_for_message", inboxId=receiver["id"], timeoutSeconds=1
            )
            quiet_took = time.monotonic() - started
            waiting = asyncio.create_task(
                call(session, "wait_for_message", inboxId=receiver["id"], timeoutSeconds=20)
            )
            await asyncio.sleep(0.5)  # the call is waiting on the hub by now
            # A wait holds no worker thread: other calls are answered meanwhile.
            asked = time.monotonic()
            await call(session, "get_inbox", inboxId=receiver["id"])
            answered_while_waiting = time.monotonic() - asked
            sent_at = time.monotonic()
            await asyncio.to_thread(
                rest,
                "POST",
                f"/inboxes/{sender['id']}/messages/send",
                {"to": [receiver["email"]], "subject": subject, "text": "Are you there?"},
            )
            woke = await waiting
            latency = time.monotonic() - sent_at
            # `after`: mail that came while nobody waited is returned at once.
            earlier = await call(
                session,
                "wait_for_message",
                inboxId=receiver["id"],
                after=woke["message"]["id"],
                timeoutSeconds=1,
            )
            return quiet, quiet_took, woke, latency, earlier, answered_while_waiting

    quiet, quiet_took, woke, latency, earlier, answered_while_waiting = asyncio.run(scenario())
    assert answered_while_waiting < 2, answered_while_waiting
    assert quiet == {"message": None, "timedOut": True}
    assert 0.9 < quiet_took < 5, quiet_took
    assert woke["timedOut"] is False and woke["message"]["subject"] == subject
    assert woke["message"]["direction"] == "inbound"
    assert latency < 2, latency
    print(f"wait_for_message woke {latency * 1000:.0f} ms after the send")
    assert earlier == {"message": None, "timedOut": True}


def test_wait_for_message_refuses_a_timeout_past_the_cap(live_asgi, live_org):
    org, rest = live_org
    inbox = rest.inbox()

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            return await refused(
                session, "wait_for_message", inboxId=inbox["id"], timeoutSeconds=61
            )

    text, code = asyncio.run(scenario())
    assert code == "validation_error" and "60" in text


def test_a_read_only_key_gets_tool_errors_naming_the_scope(live_asgi, live_org):
    _, rest = live_org
    inbox = rest.inbox()
    reader = rest.key(scopes=["inboxes:read", "messages:read"])

    async def scenario():
        async with mcp_session(live_asgi.url, reader) as session:
            listed = await call(session, "list_inboxes")
            send = await refused(
                session,
                "send_message",
                inboxId=inbox["id"],
                to="a@example.com",
                subject="x",
                text="y",
            )
            draft = await refused(session, "create_draft", inboxId=inbox["id"])
            bad_query = await refused(
                session, "search_messages", inboxId=inbox["id"], query="before:someday"
            )
            bad_status = await refused(
                session, "list_threads", inboxId=inbox["id"], status=["lost"]
            )
            return listed, send, draft, bad_query, bad_status

    listed, send, draft, bad_query, bad_status = asyncio.run(scenario())
    assert bad_query[1] == "invalid_query"
    assert bad_status[1] == "validation_error" and "status" in bad_status[0]
    assert inbox["id"] in [i["id"] for i in listed["inboxes"]]
    assert send[1] == "forbidden" and "messages:send" in send[0]
    assert draft[1] == "forbidden" and "drafts:write" in draft[0]


def test_a_key_limited_to_one_inbox_sees_no_other(live_asgi, live_org):
    _, rest = live_org
    mine, theirs = rest.inbox("Mine"), rest.inbox("Theirs")
    limited = rest.key(inboxIds=[mine["id"]])

    async def scenario():
        async with mcp_session(live_asgi.url, limited) as session:
            listed = await call(session, "list_inboxes")
            hidden = await refused(session, "get_inbox", inboxId=theirs["id"])
            threads = await refused(session, "list_threads", inboxId=theirs["id"])
            send = await refused(
                session,
                "send_message",
                inboxId=theirs["id"],
                to="a@example.com",
                subject="x",
                text="y",
            )
            return listed, hidden, threads, send

    listed, hidden, threads, send = asyncio.run(scenario())
    assert [i["id"] for i in listed["inboxes"]] == [mine["id"]]
    assert hidden[1] == threads[1] == send[1] == "inbox_not_found"


def test_another_organizations_thread_is_not_found(live_asgi, live_org):
    org, rest = live_org
    other = live_asgi.new_org()
    other_rest = Rest(live_asgi.url, other.api_key)
    their_inbox = other_rest.inbox()
    their_message = other_rest(
        "POST",
        f"/inboxes/{their_inbox['id']}/messages/send",
        {"to": ["a@example.com"], "subject": "Private", "text": "Secret"},
    )
    my_inbox = rest.inbox()

    async def scenario():
        async with mcp_session(live_asgi.url, org.api_key) as session:
            as_mine = await refused(
                session, "get_thread", inboxId=my_inbox["id"], threadId=their_message["threadId"]
            )
            as_theirs = await refused(
                session, "get_thread", inboxId=their_inbox["id"], threadId=their_message["threadId"]
            )
            try:
                await session.read_resource(f"sendook://threads/{their_message['threadId']}")
                resource = "read"
            except Exception as exc:  # the SDK raises McpError for a JSON-RPC error
                resource = str(exc)
            return as_mine, as_theirs, resource

    as_mine, as_theirs, resource = asyncio.run(scenario())
    assert as_mine[1] == "thread_not_found"
    assert as_theirs[1] == "inbox_not_found"
    assert "thread_not_found" in resource


def test_a_missing_or_invalid_bearer_key_is_a_401(live_asgi):
    for headers in ({}, {"Authorization": "Bearer sk_nope"}, {"Authorization": "Basic abc"}):
        response = httpx.post(
            f"{live_asgi.url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream", **headers},
        )
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_malformed_json_rpc_gets_a_json_rpc_error_never_a_500(live_asgi, live_org):
    org, _ = live_org
    headers = {
        "Authorization": f"Bearer {org.api_key}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    url = f"{live_asgi.url}/mcp"

    def post(content: bytes, **extra: str) -> httpx.Response:
        return httpx.post(url, content=content, headers={**headers, **extra}, timeout=30)

    def rpc_error(response: httpx.Response) -> dict:
        assert response.status_code < 500, response.text
        if response.headers["content-type"].startswith("text/event-stream"):
            data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
            body = httpx.Response(200, content=data[-1].encode()).json()
        else:
            body = response.json()
        assert body["jsonrpc"] == "2.0"
        return body

    garbage = rpc_error(post(b"{not json"))
    assert garbage["error"]["code"] == -32700
    wrong_type = post(
        b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}', **{"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415 and rpc_error(wrong_type)["error"]["code"] == -32600
    batch = rpc_error(post(b'[1, "two", {"three": 3}]'))
    assert "error" in batch
    not_an_object = rpc_error(post(b'"hello"'))
    assert "error" in not_an_object
    unknown_method = rpc_error(post(b'{"jsonrpc":"2.0","id":7,"method":"mail/steal","params":{}}'))
    assert unknown_method["id"] == 7 and unknown_method["error"]["code"] in (-32601, -32602)
    unknown_tool = rpc_error(
        post(b'{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"rm_rf"}}')
    )
    assert unknown_tool["result"]["isError"] is True
    assert unknown_tool["result"]["structuredContent"]["code"] == "unknown_tool"
    bad_arguments = rpc_error(
        post(
            b'{"jsonrpc":"2.0","id":9,"method":"tools/call",'
            b'"params":{"name":"get_inbox","arguments":{"inboxId":5,"extra":[1]}}}'
        )
    )
    assert bad_arguments["result"]["isError"] is True
    assert bad_arguments["result"]["structuredContent"]["code"] == "validation_error"
    no_params = rpc_error(post(b'{"jsonrpc":"2.0","id":10,"method":"tools/call"}'))
    assert "error" in no_params
    # A declared 50 MB body is refused before it is sent (httpx will not lie about a length).
    with socket.create_connection(("127.0.0.1", live_asgi.port), timeout=10) as raw:
        raw.sendall(
            (
                f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {org.api_key}\r\n"
                "Content-Type: application/json\r\nAccept: application/json, text/event-stream"
                f"\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n{{}}"
            ).encode()
        )
        answer = http.client.HTTPResponse(raw)
        answer.begin()
        too_large = json.loads(answer.read())
    assert answer.status == 413 and too_large["error"]["code"] == -32600
    get = httpx.get(url, headers=headers)
    assert get.status_code == 405 and get.json()["error"]["code"] == -32600
    assert live_asgi.process.poll() is None  # the server is still up


def test_the_wsgi_process_says_mcp_is_served_by_the_asgi_process(client):
    response = client.post("/mcp", data=b"{}", content_type="application/json")
    assert response.status_code == 503
    assert response.json()["code"] == "served_by_asgi"
    assert "/mcp is served by the ASGI process" in response.json()["error"]
