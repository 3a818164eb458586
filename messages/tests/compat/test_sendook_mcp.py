"""sendook-mcp, the original Sendook's published MCP server (PyPI), against our REST API.

It runs for real: a stdio MCP server subprocess (`python -m sendook_mcp`) with SENDOOK_API_URL
pointing at the live ASGI server and SENDOOK_API_KEY an organization's key, driven by the
official `mcp` SDK's stdio client. Every one of its 16 tools is called, in both response formats
where it offers them, and each test asserts on the text the agent reads back.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from webhooks.tests.receivers import ok, receiver

Agent = Callable[[str, dict[str, Any]], Awaitable[str]]

# sendook-mcp 1.0.0's tools, all called below; a release with more fails here until it is covered.
TOOLS = {
    "sendook_create_inbox",
    "sendook_list_inboxes",
    "sendook_get_inbox",
    "sendook_delete_inbox",
    "sendook_send_message",
    "sendook_reply_to_message",
    "sendook_list_messages",
    "sendook_get_message",
    "sendook_list_threads",
    "sendook_get_thread",
    "sendook_create_webhook",
    "sendook_list_webhooks",
    "sendook_get_webhook",
    "sendook_test_webhook",
    "sendook_delete_webhook",
    "sendook_list_webhook_attempts",
}


def run_agent(live, api_key: str, script: Callable[[Agent], Awaitable[None]]) -> None:
    """Start sendook-mcp as the agent's MCP server and run `script` with a `call(tool, params)`
    that returns the text the agent would read."""

    async def session() -> None:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "sendook_mcp"],
            env={"SENDOOK_API_URL": live.url, "SENDOOK_API_KEY": api_key},
        )
        with open(Path(live.workdir) / "sendook-mcp.log", "a") as errlog:
            async with stdio_client(server, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as client:
                    await client.initialize()
                    assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS

                    async def call(tool: str, params: dict[str, Any]) -> str:
                        result = await client.call_tool(tool, {"params": params})
                        assert not result.isError, result
                        return "".join(part.text for part in result.content)

                    await script(call)

    asyncio.run(session())


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy (local delivery runs after the send)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


def test_an_agent_creates_lists_reads_and_deletes_an_inbox(live_asgi):
    org = live_asgi.new_org()

    async def script(call: Agent) -> None:
        created = json.loads(await call("sendook_create_inbox", {"name": "Support Bot"}))
        inbox = created["inbox"]
        assert created["success"] is True
        assert created["message"] == f"Inbox created successfully. Email: {inbox['email']}"
        assert inbox["id"].startswith("inbox_") and inbox["email"].startswith("support-bot")
        chosen = json.loads(
            await call("sendook_create_inbox", {"email": "orders@sendook.localhost"})
        )["inbox"]
        assert chosen["email"] == "orders@sendook.localhost"

        listed = await call("sendook_list_inboxes", {})
        assert listed.startswith("# Sendook Inboxes (2 total)")
        assert "## Support Bot" in listed
        assert f"- **ID**: `{inbox['id']}`" in listed
        assert f"- **Email**: {inbox['email']}" in listed
        # The creation time it formats from createdAt ("2026-12-04 18:00:06.978 UTC").
        assert f"- **Created**: {inbox['createdAt'][:10]} " in listed
        assert "- **Email**: orders@sendook.localhost" in listed

        as_json = json.loads(await call("sendook_list_inboxes", {"response_format": "json"}))
        assert as_json["count"] == 2
        assert {row["id"] for row in as_json["inboxes"]} == {inbox["id"], chosen["id"]}

        got = json.loads(await call("sendook_get_inbox", {"inbox_id": inbox["id"]}))
        assert got["inbox"]["email"] == inbox["email"] and got["inbox"]["name"] == "Support Bot"

        deleted = json.loads(await call("sendook_delete_inbox", {"inbox_id": inbox["id"]}))
        assert deleted["success"] is True and deleted["deleted_inbox"]["id"] == inbox["id"]
        after = await call("sendook_list_inboxes", {})
        assert after.startswith("# Sendook Inboxes (1 total)") and inbox["id"] not in after
        assert await call("sendook_get_inbox", {"inbox_id": inbox["id"]}) == (
            "Error: Resource not found - Inbox not found. Verify the ID exists and is accessible."
        )

    run_agent(live_asgi, org.api_key, script)


def test_an_agent_sends_to_another_hosted_inbox_and_the_reply_threads_under_it(live_asgi):
    org = live_asgi.new_org()
    subject = "Your quote for 40 chairs"

    async def script(call: Agent) -> None:
        sales = json.loads(await call("sendook_create_inbox", {"name": "Sales"}))["inbox"]
        buyer = json.loads(await call("sendook_create_inbox", {"name": "Buyer"}))["inbox"]
        clerk = json.loads(await call("sendook_create_inbox", {"name": "Clerk"}))["inbox"]

        sent = json.loads(
            await call(
                "sendook_send_message",
                {
                    "inbox_id": sales["id"],
                    "to": [buyer["email"]],
                    "cc": [clerk["email"]],
                    "subject": subject,
                    "text": "Hello,\n\nThe quote is 1,200 EUR, valid until Friday.",
                    "labels": ["quotes"],
                    "attachments": [
                        {
                            "content": base64.b64encode(b"40 chairs: 1,200 EUR").decode(),
                            "name": "quote.txt",
                            "content_type": "text/plain",
                        }
                    ],
                },
            )
        )
        assert sent["success"] is True and sent["message_id"].startswith("msg_")
        assert sent["subject"] == subject and sent["recipients"] == [buyer["email"]]

        async def arrived(inbox: dict) -> str:
            listed = await call("sendook_list_messages", {"inbox_id": inbox["id"]})
            return listed if subject in listed else ""

        listed = await eventually(lambda: arrived(buyer))
        assert listed.startswith("# Messages in Inbox (1 shown)")
        assert f"### {subject}" in listed
        assert subject in await eventually(lambda: arrived(clerk))  # the cc'd inbox too
        received = json.loads(
            await call(
                "sendook_list_messages",
                {"inbox_id": buyer["id"], "query": "chairs", "response_format": "json"},
            )
        )
        [incoming] = received["messages"]
        assert incoming["from"] == sales["email"] and incoming["status"] == "received"
        assert "No messages found" in await call(
            "sendook_list_messages", {"inbox_id": buyer["id"], "query": "invoice"}
        )

        shown = await call(
            "sendook_get_message", {"inbox_id": buyer["id"], "message_id": incoming["id"]}
        )
        assert shown.startswith(f"### {subject}\n- **ID**: `{incoming['id']}`")
        assert "**Body:**" in shown and "The quote is 1,200 EUR, valid until Friday." in shown
        full = json.loads(
            await call(
                "sendook_get_message",
                {"inbox_id": buyer["id"], "message_id": incoming["id"], "response_format": "json"},
            )
        )
        [attachment] = full["message"]["attachments"]
        assert attachment["name"] == "quote.txt"
        assert base64.b64decode(attachment["content"]) == b"40 chairs: 1,200 EUR"

        replied = json.loads(
            await call(
                "sendook_reply_to_message",
                {
                    "inbox_id": buyer["id"],
                    "message_id": incoming["id"],
                    "html": "<p>Thanks, we <b>accept</b> the quote.</p>",
                },
            )
        )
        assert replied["success"] is True and replied["in_reply_to"] == incoming["id"]
        assert replied["reply_message_id"].startswith("msg_")

        async def reply_arrived() -> str:
            listed = await call("sendook_list_threads", {"inbox_id": sales["id"]})
            return listed if "- **Messages**: 2" in listed else ""

        threads = await eventually(reply_arrived)
        assert threads.startswith("# Conversation Threads (1 shown)")
        assert f"## {subject}" in threads
        as_json = json.loads(
            await call("sendook_list_threads", {"inbox_id": sales["id"], "response_format": "json"})
        )
        [thread] = as_json["threads"]
        assert thread["messageCount"] == 2

        transcript = await call(
            "sendook_get_thread", {"inbox_id": sales["id"], "thread_id": thread["id"]}
        )
        assert transcript.startswith(f"# Thread: {subject}\n**Thread ID**: `{thread['id']}`")
        assert "**Messages**: 2" in transcript
        first, second = transcript.index(f"### {subject}"), transcript.index(f"### Re: {subject}")
        assert first < second  # oldest first, as the agent reads a conversation
        assert "The quote is 1,200 EUR" in transcript[first:second]
        assert "Thanks, we accept the quote." in transcript[second:]  # its text from the html
        structured = json.loads(
            await call(
                "sendook_get_thread",
                {"inbox_id": sales["id"], "thread_id": thread["id"], "response_format": "json"},
            )
        )
        original, reply = structured["thread"]["messages"]
        assert original["id"] == sent["message_id"]  # the very message the agent sent
        assert reply["from"] == buyer["email"] and reply["subject"] == f"Re: {subject}"
        assert reply["inReplyTo"] == original["messageId"]

    run_agent(live_asgi, org.api_key, script)


def self_signed_pem(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A certificate for 127.0.0.1: (the receiver's TLS context, the PEM file to trust)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "receiver-cert.pem", directory / "receiver-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    return server, cert_path


@pytest.fixture
def live_with_loopback_hooks(live_asgi, tmp_path):
    """The live server trusting a loopback HTTPS receiver (sendook-mcp only takes https://
    webhook URLs): private targets allowed, the receiver's certificate as its CA bundle.
    Restored afterwards (left stopped: the next `live_asgi` starts it with the usual env)."""
    tls, cert = self_signed_pem(tmp_path)
    live_asgi.base_env.update(SENDOOK_WEBHOOK_ALLOW_PRIVATE="1", SSL_CERT_FILE=str(cert))
    live_asgi.restart(kill=False)
    try:
        yield live_asgi, tls
    finally:
        live_asgi.base_env.pop("SENDOOK_WEBHOOK_ALLOW_PRIVATE")
        live_asgi.base_env.pop("SSL_CERT_FILE")
        live_asgi.stop()


# Every event sendook-mcp offers an agent to subscribe to (its WebhookEvent enum).
ORIGINAL_EVENTS = [
    "inbox.created",
    "inbox.deleted",
    "inbox.updated",
    "message.sent",
    "message.received",
    "message.delivered",
    "message.bounced",
    "message.complained",
    "message.rejected",
]


def test_an_agent_manages_a_webhook_and_sees_its_deliveries(live_with_loopback_hooks):
    live, tls = live_with_loopback_hooks
    org = live.new_org()

    with receiver(ok(), tls=tls) as hook:

        async def script(call: Agent) -> None:
            created = json.loads(
                await call("sendook_create_webhook", {"url": hook.url, "events": ORIGINAL_EVENTS})
            )
            webhook = created["webhook"]
            assert created["success"] is True
            assert (
                created["message"]
                == f"Webhook created. Subscribed to: {', '.join(ORIGINAL_EVENTS)}"
            )
            assert webhook["url"] == hook.url and webhook["secret"].startswith("whsec_")
            hook.secret = webhook["secret"]  # the receiver now verifies every signature

            listed = await call("sendook_list_webhooks", {})
            assert listed.startswith("# Sendook Webhooks (1 total)")
            assert f"## Webhook `{webhook['id']}`" in listed
            assert f"- **URL**: {hook.url}" in listed
            assert f"- **Events**: {', '.join(ORIGINAL_EVENTS)}" in listed
            assert f"- **Created**: {webhook['createdAt'][:10]} " in listed
            as_json = json.loads(await call("sendook_list_webhooks", {"response_format": "json"}))
            assert as_json["count"] == 1 and as_json["webhooks"][0]["id"] == webhook["id"]

            got = json.loads(await call("sendook_get_webhook", {"webhook_id": webhook["id"]}))
            assert got["webhook"]["events"] == ORIGINAL_EVENTS and got["webhook"]["enabled"]
            assert "secret" not in got["webhook"]  # shown once, at create

            assert await call("sendook_list_webhook_attempts", {"webhook_id": webhook["id"]}) == (
                f"No delivery attempts found for webhook {webhook['id']}."
            )
            tested = json.loads(await call("sendook_test_webhook", {"webhook_id": webhook["id"]}))
            assert tested == {
                "test_result": "passed",
                "webhook_id": webhook["id"],
                "message": "Test event delivered successfully",
            }
            [ping] = hook.wait_for_requests(1)
            assert ping.verified and ping.json()["event"] == "webhook.test"

            # A real event too: the inbox it creates is delivered (in the background).
            inbox = json.loads(await call("sendook_create_inbox", {"name": "Hooked"}))["inbox"]
            delivered = hook.wait_for_requests(2)[1]
            assert delivered.verified and delivered.json()["event"] == "inbox.created"
            assert delivered.json()["payload"]["id"] == inbox["id"]

            async def both_recorded() -> dict:
                text = await call("sendook_list_webhook_attempts", {"webhook_id": webhook["id"]})
                found = json.loads(text) if text.startswith("{") else {}
                return found if found.get("attempt_count") == 2 else {}

            attempts = await eventually(both_recorded)
            assert attempts["webhook_id"] == webhook["id"]
            assert {row["eventType"] for row in attempts["attempts"]} == {
                "webhook.test",
                "inbox.created",
            }
            assert all(
                row["succeeded"] and row["statusCode"] == 200 for row in attempts["attempts"]
            )

            deleted = json.loads(
                await call("sendook_delete_webhook", {"webhook_id": webhook["id"]})
            )
            assert deleted["success"] is True and deleted["deleted_webhook"]["id"] == webhook["id"]
            assert await call("sendook_list_webhooks", {}) == (
                "No webhooks configured. Use sendook_create_webhook to create one."
            )
            assert await call("sendook_get_webhook", {"webhook_id": webhook["id"]}) == (
                "Error: Resource not found - Webhook not found. "
                "Verify the ID exists and is accessible."
            )

        run_agent(live, org.api_key, script)


def test_errors_read_as_sentences_the_agent_can_act_on(live_asgi):
    org = live_asgi.new_org()

    async def with_bad_key(call: Agent) -> None:
        assert await call("sendook_list_inboxes", {}) == (
            "Error: Authentication failed. "
            "Please verify your SENDOOK_API_KEY is valid and not expired."
        )

    run_agent(live_asgi, "sk_live_not_a_real_key", with_bad_key)

    async def with_unknown_ids_and_bad_input(call: Agent) -> None:
        assert await call(
            "sendook_get_thread", {"inbox_id": "inbox_01J3ZKZ0BRQ9SSJK1GRSCX4N4Z", "thread_id": "t"}
        ) == (
            "Error: Resource not found - Inbox not found. Verify the ID exists and is accessible."
        )
        inbox = json.loads(await call("sendook_create_inbox", {"name": "Sender"}))["inbox"]
        bad = await call(
            "sendook_send_message",
            {"inbox_id": inbox["id"], "to": ["bob@"], "subject": "Hi", "text": "Hello"},
        )
        # Which field, and why, in the words the API gave (its `message`).
        assert bad == (
            "Error: Invalid request - to.0: Enter exactly one valid email address.. "
            "Please check your input parameters."
        )

    run_agent(live_asgi, org.api_key, with_unknown_ids_and_bad_input)

    # A key that may read but not send: the agent is told which scope it lacks.
    reader = httpx.post(
        f"{live_asgi.url}/v1/api_keys",
        json={"name": "reader", "scopes": ["inboxes:read", "messages:read"]},
        headers={"Authorization": f"Bearer {org.api_key}"},
    ).json()["key"]

    async def without_the_scope(call: Agent) -> None:
        [inbox] = json.loads(await call("sendook_list_inboxes", {"response_format": "json"}))[
            "inboxes"
        ]
        denied = await call(
            "sendook_send_message",
            {"inbox_id": inbox["id"], "to": ["bob@example.com"], "subject": "Hi", "text": "Hi"},
        )
        assert denied == (
            "Error: Permission denied - This API key needs scope messages:send. "
            "Check your API key permissions."
        )

    run_agent(live_asgi, reader, without_the_scope)
