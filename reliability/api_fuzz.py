"""Reliability 6: schemathesis over the whole OpenAPI schema, two organizations, over real HTTP.

Two organizations are built with the product's services, each with API keys, a verified and an
unverified domain (verified against a DNS server on loopback), inboxes, outbound mail and inbound
mail (some with attachments), labels, threads with replies, two webhooks (every event; one
delivers, one fails its TLS handshake) and the deliveries and events all that caused. The app is served by gunicorn (2 workers x 4
threads) on a random loopback port, with tasks in-process (the embedded default: a send is built
and handed to the sandbox backend inside its request, so no queued work can touch a row after
the run) and webhook connections confined to a loopback receiver (reliability/fuzz_wsgi.py).

schemathesis loads /v1/openapi.json from the server and generates requests for every operation,
positive and negative, all authenticated with organization A's key. Path parameters are often
real: drawn from a pool of A's ids (so operations reach rows: coherent inbox/message/attachment
and webhook/delivery tuples), B's ids and mixtures, besides schemathesis' own values; bodies and
queries sometimes carry B's inbox ids, domain name, event ids or a word only B's mail contains.
Operations run in path order, PATCHes late and DELETEs last, each within its share of the time
budget (never less than --floor seconds).

Figures (targets all 0): server errors (5xx or a dropped connection); schema violations
(response schema and content-type conformance); cross-organization reads (a response carrying
one of B's public ids, addresses, domain names, secrets or words that the request did not
itself contain, in the body or any header such as Link; or a GET naming a B id that did not
answer 404 or exactly as the same request with an unknown id); cross-organization writes (B's
rows in any table differ after the run, or a write naming a B id that did not answer 404 or
exactly as with an unknown id).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import secrets
import sys
import tempfile
import time
import urllib.parse
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reliability import common

# Which kind of id each path parameter names ("id" depends on the route).
PARAM_KINDS = {"inbox_id": "inbox", "attachment_id": "att", "delivery_id": "dlv"}
ID_KINDS = [  # (path prefix, kind of {id}), most specific first
    ("/v1/inboxes/{inbox_id}/messages/", "msg"),
    ("/v1/inboxes/{inbox_id}/threads/", "thread"),
    ("/v1/inboxes/{inbox_id}/drafts/", "msg"),
    ("/v1/inboxes/", "inbox"),
    ("/v1/approvals/", "msg"),
    ("/v1/api_keys/", "key"),
    ("/v1/domains/", "dom"),
    ("/v1/events/", "evt"),
    ("/v1/webhooks/", "wh"),
]
PREFIXES = {
    "inbox": "inbox",
    "att": "att",
    "dlv": "whdlv",
    "msg": "msg",
    "thread": "thread",
    "key": "key",
    "dom": "dom",
    "evt": "evt",
    "wh": "wh",
}
PUBLIC_ID = re.compile(
    r"^(org|key|dom|inbox|thread|msg|att|wh|whatt|whdlv|evt|inb)_[0-9A-Za-z]{8,}$"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=120, help="examples per operation at most")
    parser.add_argument("--seconds", type=float, default=150, help="time budget of the fuzzing")
    parser.add_argument(
        "--floor", type=float, default=2.0, help="seconds every operation gets at least"
    )
    args = parser.parse_args()
    with common.own_redis():
        return run(args)


def run(args: argparse.Namespace) -> int:
    from inboxes.tests.dns_server import loopback_dns
    from webhooks.tests.receivers import ok, receiver

    with receiver(ok()) as hook, loopback_dns() as dns_server:
        tmp = Path(tempfile.mkdtemp(prefix="sendook-rel-fuzz-"))
        common.configure(
            CELERY_BROKER_URL="",  # tasks in-process: see the module docstring
            EMAIL_BACKEND="messages.sandbox.SandboxEmailBackend",
            SENDOOK_VAR_DIR=str(tmp),
            SENDOOK_DNS_RESOLVER=dns_server.address,
            SENDOOK_DNS_TIMEOUT="0.5",
            SENDOOK_FUZZ_WEBHOOK_RECEIVER=f"127.0.0.1:{hook.port}",
            SENDOOK_WEBHOOK_CONNECT_TIMEOUT="2",
            SENDOOK_WEBHOOK_TIMEOUT="3",
        )
        common.setup_django()
        from reliability.fuzz_wsgi import confine_webhooks

        confine_webhooks(f"127.0.0.1:{hook.port}")
        run_id = f"{int(time.time())}{secrets.token_hex(2)}"
        org_a, key_a, pool_a, _ = build_organization("a", run_id, dns_server)
        org_b, key_b, pool_b, words_b = build_organization("b", run_id, dns_server)
        settled = wait_for_deliveries([org_a, org_b])
        before = snapshot(org_b)
        b_tokens = tokens_of(before) | words_b | {key_b}
        print(
            f"  organizations {org_a.public_id} (fuzzing key) and {org_b.public_id}: "
            f"{sum(len(rows) for rows in before.values())} rows of B in {len(before)} tables; "
            f"{len(b_tokens)} B tokens; webhook deliveries settled: {settled}",
            flush=True,
        )

        web = common.Gunicorn(
            common.worker_env(), tmp / "gunicorn.log", app="reliability.fuzz_wsgi"
        )
        web.start()
        try:
            started = time.monotonic()
            tally = Fuzzer(web.url, key_a, pool_a, pool_b, b_tokens, words_b, args).run()
            duration = time.monotonic() - started
        finally:
            web.stop()
        after = snapshot(org_b)
        changed = compare(before, after)
        tally["cross_org_writes"] += len(changed)
        for line in changed[:10]:
            print(f"  B row changed: {line}", flush=True)
        server_log = (tmp / "gunicorn.log").read_text(errors="replace")
        tracebacks = server_log.count("Traceback (most recent call last)")

    for line in tally["failures"][:25]:
        print(f"  {line}", flush=True)
    print(
        f"  statuses {dict(sorted(tally['statuses'].items()))}; requests naming a B id "
        f"{tally['b_requests']} ({tally['b_404']} answered 404, the rest as an unknown id); "
        f"requests reaching A's rows (2xx on a real A id) {tally['a_reached']}; "
        f"operations never answering 2xx: {', '.join(tally['no_2xx']) or 'none'}; "
        f"server log tracebacks {tracebacks}; fuzzing {duration:.0f}s",
        flush=True,
    )
    ok = (
        tally["server_errors"] == 0
        and tally["schema_violations"] == 0
        and tally["cross_org_reads"] == 0
        and tally["cross_org_writes"] == 0
        and tracebacks == 0
        and tally["requests"] > 0
    )
    print(
        f"api fuzz: {tally['operations']} operations, {tally['requests']:,} requests, "
        f"server errors {tally['server_errors']}, schema violations {tally['schema_violations']}, "
        f"cross-org reads {tally['cross_org_reads']}, cross-org writes {tally['cross_org_writes']}"
        f" pass={'yes' if ok else 'no'}",
        flush=True,
    )
    return 0 if ok else 1


# --- the two organizations --------------------------------------------------------------------


def build_organization(label: str, run_id: str, dns_server: Any) -> tuple[Any, str, dict, set[str]]:
    """An organization with one of everything; returns it, its fuzzing key's secret, its pool of
    ids for path parameters and the words only its own data contains."""
    from inboxes.services import (
        create_api_key,
        create_domain,
        create_inbox,
        create_organization,
        verify_domain,
    )
    from messages.models import Attachment, Message, Thread
    from messages.services.drafts import create_draft
    from messages.services.receive import receive_raw_email
    from messages.services.send import NewAttachment, reply_to_message, send_message
    from sendook.events.models import Event
    from webhooks.models import SUBSCRIBABLE_EVENT_TYPES, Delivery
    from webhooks.services.delivery import send_test
    from webhooks.services.webhooks import create_webhook

    word = f"fuzzword{label}{run_id}"
    organization, created, _ = create_organization(f"reliability-fuzz-{label}-{run_id}")
    spare_keys = [create_api_key(organization, name=f"spare {n}") for n in range(3)]
    webhook = create_webhook(
        organization,
        url=f"http://hooks-{label}.example.com/{run_id}",
        events=list(SUBSCRIBABLE_EVENT_TYPES),
    )
    # https to the plain-HTTP receiver fails the handshake: failed deliveries, for the retry route.
    failing = create_webhook(
        organization,
        url=f"https://failing-{label}.example.com/{run_id}",
        events=list(SUBSCRIBABLE_EVENT_TYPES),
    )
    domain = create_domain(organization, name=f"{label}{run_id}.fuzz.example")
    for record in domain.records:
        dns_server.add(record["name"], record["type"], _zone_value(record))
    verify_domain(domain)
    assert domain.verified, domain.records
    unverified = create_domain(organization, name=f"{label}{run_id}-pending.fuzz.example")
    main = create_inbox(organization, name=f"Main {label}", email=f"main@{domain.name}")
    second = create_inbox(organization, name=f"Second {label}")
    spare = create_inbox(organization, name=f"Spare {label}")

    attachment = NewAttachment(
        name=f"{word}.txt", content_type="text/plain", content=f"report {word}".encode()
    )
    outbound = send_message(
        main,
        to=[f"someone-{label}@example.net"],
        subject=f"Hello {word}",
        text=f"Body {word}",
        html=f"<p>Body {word}</p>",
        labels=["fuzz", f"label-{label}"],
        attachments=[attachment],
    )
    send_message(
        second,
        to=[main.email],
        cc=[f"cc-{label}@example.net"],
        subject=f"Local {word}",
        text=f"Local {word}",
    )
    # A held message, so the approval queue's routes reach rows of both organizations.
    spare.send_approval = "always"
    spare.save(update_fields=["send_approval"])
    send_message(spare, to=[f"held-{label}@example.net"], subject=f"Held {word}", text="x")
    mime = EmailMessage()
    mime["From"] = f"Customer {label} <customer-{label}@example.org>"
    mime["To"] = main.email
    mime["Subject"] = f"Inbound {word}"
    mime["Message-ID"] = f"<inbound-{label}-{run_id}@example.org>"
    mime.set_content(f"Inbound {word}")
    mime.add_attachment(
        f"scan {word}".encode(), maintype="application", subtype="pdf", filename=f"{word}.pdf"
    )
    receive_raw_email(mime.as_bytes(), recipients=[main.email], source="cli")
    inbound = Message.objects.get(
        organization=organization, message_id=mime["Message-ID"], inbox=main
    )
    reply_to_message(
        inbound,
        text=f"Thanks {word}",
        labels=["replied"],
        attachments=[NewAttachment(name="reply.txt", content_type="text/plain", content=b"reply")],
    )
    reply_to_message(outbound, text=f"Follow-up {word}")
    # Drafts, a new one and a reply (their ids join the messages' pool).
    create_draft(main, fields={"to": [f"draft-{label}@example.net"], "text": f"Draft {word}"})
    create_draft(main, fields={"text": f"Reply draft {word}"}, parent=inbound)
    send_test(webhook.webhook)

    pool: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for message in Message.objects.filter(organization=organization).select_related("inbox"):
        attachments = list(
            Attachment.objects.filter(message=message).values_list("public_id", flat=True)
        ) or [None]
        for att in attachments:
            entry = {"inbox": message.inbox.public_id, "msg": message.public_id}
            if att:
                entry["att"] = att
            pool["msg"].append(entry)
    for thread in Thread.objects.filter(organization=organization).select_related("inbox"):
        pool["thread"].append({"inbox": thread.inbox.public_id, "thread": thread.public_id})
    for inbox in (main, second, spare):
        pool["inbox"].append({"inbox": inbox.public_id})
    for key in spare_keys:  # never the fuzzing key: DELETE would revoke it mid-run
        pool["key"].append({"key": key.api_key.public_id})
    for dom in (domain, unverified):
        pool["dom"] += [{"dom": dom.public_id}, {"dom": dom.name}]
    for event_id in Event.objects.filter(organization=organization).values_list(
        "public_id", flat=True
    ):
        pool["evt"].append({"evt": event_id})
    for hook in (webhook, failing):
        pool["wh"].append({"wh": hook.webhook.public_id})
        for delivery_id in Delivery.objects.filter(webhook=hook.webhook).values_list(
            "public_id", flat=True
        ):
            pool["dlv"].append({"wh": hook.webhook.public_id, "dlv": delivery_id})
    words = {
        word,
        webhook.secret,
        failing.secret,
        failing.webhook.url,
        created.secret,
        *(key.secret for key in spare_keys),
        *(inbox.email for inbox in (main, second, spare)),
        domain.name,
        unverified.name,
        f"someone-{label}@example.net",
        f"customer-{label}@example.org",
        webhook.webhook.url,
    }
    return organization, created.secret, dict(pool), words


def _zone_value(record: dict) -> str:
    if record["type"] == "MX":
        return f"{record.get('priority', 10)} {record['value']}."
    if record["type"] == "TXT":
        return f'"{record["value"]}"'
    return f"{record['value']}."


def wait_for_deliveries(organizations: list[Any], timeout: float = 30) -> bool:
    """Webhook deliveries of the setup run on background threads; the snapshot waits for them."""
    from webhooks.models import Delivery

    pending = Delivery.objects.filter(
        webhook__organization__in=organizations, status=Delivery.Status.PENDING
    )
    return common.wait_until(lambda: not pending.exists(), timeout, 0.1)


# --- organization B's rows, before and after -------------------------------------------------


def _path_to_organization(model: Any, depth: int = 0) -> str | None:
    from inboxes.models import Organization

    if model is Organization:
        return "pk"
    if depth > 3:
        return None
    for field in model._meta.fields:
        if field.is_relation and field.related_model is not None:
            if field.related_model is Organization:
                return field.name
            sub = _path_to_organization(field.related_model, depth + 1)
            if sub and sub != "pk":
                return f"{field.name}__{sub}"
    return None


def organization_querysets(organization: Any) -> dict[str, Any]:
    """Every table's rows belonging to `organization`: through foreign keys, or (a raw inbound
    record, a user) through the rows that point at them."""
    from django.apps import apps

    querysets = {}
    for model in apps.get_models():
        manager = model._base_manager
        path = _path_to_organization(model)
        if path:
            querysets[model._meta.db_table] = manager.filter(**{path: organization.pk})
            continue
        reverse = [
            (rel.name, _path_to_organization(rel.related_model))
            for rel in model._meta.related_objects
            if rel.one_to_many and _path_to_organization(rel.related_model)
        ]
        if reverse:
            keys = set()
            for name, sub in reverse:
                keys |= set(
                    manager.filter(**{f"{name}__{sub}": organization.pk}).values_list(
                        "pk", flat=True
                    )
                )
            querysets[model._meta.db_table] = manager.filter(pk__in=keys)
    return querysets


def snapshot(organization: Any) -> dict[str, dict[Any, str]]:
    return {
        table: {
            row["id"] if "id" in row else repr(row): json.dumps(row, default=str, sort_keys=True)
            for row in queryset.order_by("pk").values()
        }
        for table, queryset in organization_querysets(organization).items()
    }


def tokens_of(snap: dict[str, dict[Any, str]]) -> set[str]:
    tokens = set()
    for rows in snap.values():
        for row in rows.values():
            for value in json.loads(row).values():
                if isinstance(value, str) and PUBLIC_ID.match(value):
                    tokens.add(value)
    return tokens


def compare(before: dict[str, dict[Any, str]], after: dict[str, dict[Any, str]]) -> list[str]:
    changes = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        for pk in sorted(set(old) | set(new), key=str):
            if old.get(pk) != new.get(pk):
                kind = "added" if pk not in old else "removed" if pk not in new else "changed"
                changes.append(f"{table} {pk} {kind}: {new.get(pk, old.get(pk))[:300]}")
    return changes


# --- fuzzing ---------------------------------------------------------------------------------


def id_kinds(path: str) -> dict[str, str]:
    """{path parameter: kind of id} for one route."""
    kinds = {}
    for name in re.findall(r"{(\w+)}", path):
        if name in PARAM_KINDS:
            kinds[name] = PARAM_KINDS[name]
        else:
            kinds[name] = next(
                kind
                for prefix, kind in ID_KINDS
                if path.startswith(prefix) and path[len(prefix) :].startswith("{id}")
            )
    return kinds


def unknown_id(kind: str, value: str) -> str:
    """An id of the same shape that names nothing."""
    if kind == "dom" and "." in value:
        return f"unknown{secrets.token_hex(4)}.fuzz.example"
    return f"{PREFIXES[kind]}_{secrets.token_hex(13)[:26].upper()}"


class Fuzzer:
    """schemathesis cases for one operation at a time, with ids from both organizations."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        pool_a: dict,
        pool_b: dict,
        b_tokens: set[str],
        words_b: set[str],
        args: argparse.Namespace,
    ) -> None:
        import requests
        import schemathesis

        self.base_url, self.args = base_url, args
        self.schema = schemathesis.openapi.from_url(f"{base_url}/v1/openapi.json", timeout=30)
        self.session = requests.Session()
        self.auth = {"Authorization": f"Bearer {secret}"}
        self.pools = {"a": pool_a, "b": pool_b}
        self.b_lower = {token.lower() for token in b_tokens}
        self.b_inboxes = [entry["inbox"] for entry in pool_b["inbox"]]
        self.a_inboxes = [entry["inbox"] for entry in pool_a["inbox"]]
        self.b_domain = next(entry["dom"] for entry in pool_b["dom"] if "." in entry["dom"])
        self.b_word = next(word for word in words_b if word.startswith("fuzzword"))
        self.events = [entry["evt"] for entry in pool_a["evt"] + pool_b["evt"]]
        self.tally: dict[str, Any] = {
            "operations": 0,
            "requests": 0,
            "server_errors": 0,
            "schema_violations": 0,
            "cross_org_reads": 0,
            "cross_org_writes": 0,
            "b_requests": 0,
            "b_404": 0,
            "generation_errors": 0,
            "a_reached": 0,
            "statuses": collections.Counter(),
            "failures": [],
            "no_2xx": [],
        }

    def run(self) -> dict[str, Any]:
        operations = [result.ok() for result in self.schema.get_all_operations()]
        self.hostile_shapes(operations)
        # Updates (which may disable a webhook) late and deletes last, so the other operations
        # still find A's rows as they were built.
        operations.sort(
            key=lambda op: (op.method.upper() == "DELETE", op.method.upper() == "PATCH", op.path)
        )
        self.tally["operations"] = len(operations)
        budget_end = time.monotonic() + self.args.seconds
        for index, operation in enumerate(operations):
            # An equal share of what is left, and never less than a floor, so an operation that
            # overran its share (a slow machine) cannot starve the ones after it.
            share = max(
                (budget_end - time.monotonic()) / (len(operations) - index), self.args.floor
            )
            started = time.monotonic()
            slice_end = started + share
            before = self.tally["requests"]
            reached = self.fuzz_operation(operation, slice_end)
            method = operation.method.upper()
            if not reached:
                self.tally["no_2xx"].append(f"{method} {operation.path}")
            print(
                f"  {method:6} {operation.path}: {self.tally['requests'] - before} requests, "
                f"{reached} answered 2xx, {time.monotonic() - started:.1f}s",
                flush=True,
            )
        return self.tally

    def hostile_shapes(self, operations: list[Any]) -> None:
        """Shapes schemathesis rarely draws, sent to every operation that can take them, with
        A's real ids in the path: forged pagination cursors on every list, well-formed but
        impossible dates in every date parameter, and JSON nested past Python's recursion
        limit in every body (and to /webhooks/ses). None may be a 5xx, a dropped connection or
        a non-JSON answer (an endpoint that takes no cursor or no body may ignore it; the
        regular tests pin the 400s). Each goes on a connection of its own, so a body a view
        never read cannot spill into the next request."""
        import base64

        import requests

        def forged(value: Any) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        cursors = [
            forged([None, 1]),
            forged([True, 1]),
            forged([1, 10**30]),
            forged([1, -1]),
            forged(["2024-13-45T10:00:00+00:00", 1]),
            forged([{"a": []}, 1]),
            forged("x"),
            base64.urlsafe_b64encode(b"[" * 3000).decode(),
            "%%%",
            "AAAA",
        ]
        dates = [
            "2024-13-45T10:00:00",
            "2024-02-30",
            "0001-01-01T00:00:00+23:00",
            "9999-12-31T23:59:59-23:00",
            "2024-01-01T25:61:00Z",
        ]
        deep = "[" * 100_000 + "]" * 100_000
        requests_made = []
        for operation in operations:
            method, path = operation.method.upper(), operation.path
            filled = self.fill_path(path)
            if filled is None:
                continue
            names = {param.name for param in operation.query}
            if method == "GET" and "cursor" in names:
                requests_made += [(method, filled, {"cursor": cursor}, None) for cursor in cursors]
            for name in names & {"before", "after"}:
                requests_made += [(method, filled, {name: value}, None) for value in dates]
            if method in ("POST", "PATCH", "PUT"):
                requests_made.append((method, filled, {}, deep))
        requests_made.append(("POST", "/webhooks/ses", {}, deep))
        for method, path, params, body in requests_made:
            self.tally["requests"] += 1
            try:
                response = requests.request(
                    method,
                    f"{self.base_url}{path}",
                    params=params,
                    data=body,
                    timeout=30,
                    headers={
                        **self.auth,
                        "Content-Type": "application/json",
                        "Connection": "close",
                    },
                )
            except Exception as exc:  # a dropped connection is a server error too
                self.tally["server_errors"] += 1
                self.tally["failures"].append(f"hostile shape: {method} {path} {params}: {exc}")
                continue
            self.tally["statuses"][response.status_code] += 1
            is_json = response.headers.get("Content-Type", "").startswith("application/json")
            if response.status_code >= 500 or not is_json:
                self.tally["server_errors"] += 1
                self.tally["failures"].append(
                    f"hostile shape: {method} {path} {str(params)[:80]} answered "
                    f"{response.status_code} {response.text[:200]}"
                )
        print(
            f"  hostile shapes (forged cursors, impossible dates, deep JSON): "
            f"{len(requests_made)} requests",
            flush=True,
        )

    def fill_path(self, path: str) -> str | None:
        """`path` with A's real ids (one coherent pool entry), or None when A has none."""
        kinds = id_kinds(path)
        if not kinds:
            return path
        wanted = set(kinds.values())
        # The pool whose entries are coherent tuples of every id the path names.
        pool = next(
            (
                k
                for k in ("msg", "thread", "dlv")
                if k in wanted or (k == "msg" and "att" in wanted)
            ),
            next(iter(wanted)),
        )
        for entry in self.pools["a"].get(pool, []):
            if all(kind in entry for kind in kinds.values()):
                filled = path
                for name, kind in kinds.items():
                    filled = filled.replace(f"{{{name}}}", urllib.parse.quote(entry[kind], safe=""))
                return filled
        return None

    def fuzz_operation(self, operation: Any, slice_end: float) -> int:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st
        from schemathesis import GenerationMode

        kinds = id_kinds(operation.path)
        needed = set(kinds.values())
        entries = {
            org: [e for group in pool.values() for e in group if needed <= set(e)]
            for org, pool in self.pools.items()
        }
        by_kind = {
            org: {
                kind: [e[kind] for group in pool.values() for e in group if kind in e]
                for kind in needed
            }
            for org, pool in self.pools.items()
        }
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )
        method = operation.method.upper()
        answered_2xx = [0]

        @settings(
            max_examples=self.args.examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        @given(data=st.data())
        def probe(data: Any) -> None:
            case = data.draw(strategy)
            # The first value is hypothesis' first pick: A's real rows, then B's, then the rest.
            source = data.draw(
                st.sampled_from(["a", "b", "a", "mix", "a", "own"] if kinds else ["own"])
            )
            chosen: dict[str, tuple[str, str]] = {}  # path parameter -> (organization, kind)
            if source in ("a", "b") and entries[source]:
                entry = data.draw(st.sampled_from(entries[source]))
                for name, kind in kinds.items():
                    case.path_parameters[name] = entry[kind]
                    chosen[name] = (source, kind)
            elif source == "mix":
                for name, kind in kinds.items():
                    org = data.draw(st.sampled_from(["a", "b"]))
                    if by_kind[org][kind]:
                        case.path_parameters[name] = data.draw(st.sampled_from(by_kind[org][kind]))
                        chosen[name] = (org, kind)
            body_b = self.nudge(case, operation.path, method, data)
            if time.monotonic() > slice_end:  # after every draw, so replays draw alike
                return
            if self.exchange(case, method, chosen, body_b):
                answered_2xx[0] += 1

        try:
            probe()
        except Exception as exc:  # the generator gave up on this operation: say so, go on
            self.tally["failures"].append(
                f"generation: {method} {operation.path}: {type(exc).__name__}: {str(exc)[:300]}"
            )
            self.tally["generation_errors"] += 1
        return answered_2xx[0]

    def nudge(self, case: Any, path: str, method: str, data: Any) -> bool:
        """Sometimes swap generated values for ones that reach deeper (valid addresses, URLs,
        names) or that name B's rows in the body or query; True when B was named in the body."""
        from hypothesis import strategies as st

        body_b = False
        if isinstance(case.body, dict) and data.draw(st.booleans()):
            choice = data.draw(st.integers(0, 3))
            if path.startswith("/v1/webhooks") and method in ("POST", "PATCH"):
                case.body["url"] = (
                    f"{'https' if choice % 2 else 'http'}://hooks-{choice}.example.com/fuzz"
                )
                case.body["events"] = ["message.received", "inbox.created"][: 1 + choice % 2]
                if choice:
                    case.body["inboxIds"] = [
                        data.draw(st.sampled_from(self.a_inboxes + self.b_inboxes))
                    ]
                    body_b = case.body["inboxIds"][0] in self.b_inboxes
            elif path == "/v1/inboxes" and method == "POST":
                domain = self.b_domain if choice == 0 else "sendook.localhost"
                case.body["email"] = f"fuzz{data.draw(st.integers(0, 10**6))}@{domain}"
                body_b = choice == 0
            elif path == "/v1/domains" and method == "POST":
                case.body["name"] = (
                    self.b_domain
                    if choice == 0
                    else f"d{data.draw(st.integers(0, 10**6))}.fuzz.example"
                )
                body_b = choice == 0
            elif path.endswith(("/send", "/forward", "/reply", "/reply-all")):
                for field in ("to", "cc", "bcc", "replyTo"):
                    if field in case.body or (field == "to" and not path.endswith("reply")):
                        case.body[field] = [f"{field.lower()}{choice}@example.net"]
                case.body.setdefault("text", "fuzz")
                if choice == 3:
                    case.body.pop("attachments", None)
        if isinstance(case.query, dict) and data.draw(st.booleans()):
            if path == "/v1/events":
                case.query["after"] = data.draw(st.sampled_from(self.events))
            elif path.endswith("/messages") and method == "GET":
                case.query["query"] = self.b_word
        return body_b

    def call(self, case: Any) -> Any:
        import requests

        try:
            return case.call(
                base_url=self.base_url, session=self.session, headers=self.auth, timeout=30
            )
        except requests.RequestException as exc:
            return exc

    def fail(self, kind: str, case: Any, detail: str) -> None:
        self.tally["failures"].append(
            f"{kind}: {case.method.upper()} {case.formatted_path} {detail[:600]}"
        )

    def exchange(
        self, case: Any, method: str, chosen: dict[str, tuple[str, str]], body_b: bool
    ) -> bool:
        """Send one case and judge the answer; True when it was a 2xx."""
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
        )

        tally = self.tally
        response = self.call(case)
        tally["requests"] += 1
        if isinstance(response, Exception):
            tally["server_errors"] += 1
            self.fail("connection", case, repr(response))
            return False
        status = response.status_code
        tally["statuses"][status] += 1
        if status >= 500:
            tally["server_errors"] += 1
            self.fail(f"HTTP {status}", case, response.content[:400].decode("utf-8", "replace"))
        try:
            case.validate_response(
                response,
                checks=[response_schema_conformance, content_type_conformance],
                headers=self.auth,
            )
        except (AssertionError, BaseExceptionGroup) as exc:  # a failed check is a figure
            tally["schema_violations"] += 1
            titles = [
                getattr(f, "title", type(f).__name__) for f in getattr(exc, "exceptions", [exc])
            ]
            self.fail(
                "schema",
                case,
                f"HTTP {status} {response.headers.get('content-type')}: {titles}: "
                + " ".join(str(exc).split())[:300],
            )
        # (a) B's ids, addresses, words and secrets never appear unless the request said them.
        sent = request_text(response)
        answer = (
            response.content.decode("utf-8", "replace") + json.dumps(dict(response.headers))
        ).lower()
        leaked = sorted(token for token in self.b_lower if token in answer and token not in sent)
        if leaked:
            tally["cross_org_reads"] += 1
            self.fail("cross-org read", case, f"HTTP {status} carries {leaked[:3]}")
        success = 200 <= status < 300
        if success and chosen and all(org == "a" for org, _ in chosen.values()):
            tally["a_reached"] += 1
        if body_b and success:
            tally["cross_org_writes"] += 1  # A's write naming B's inbox or B's verified domain
            self.fail("cross-org write", case, f"HTTP {status} with B's id or domain in the body")
        names_b = [name for name, (org, _) in chosen.items() if org == "b"]
        if not names_b:
            return success
        # (c) a request naming a B id answers 404, or (e.g. a body refused before the lookup)
        # exactly what the same request naming an unknown id answers.
        tally["b_requests"] += 1
        if status == 404:
            tally["b_404"] += 1
            return success
        for name in names_b:
            case.path_parameters[name] = unknown_id(chosen[name][1], case.path_parameters[name])
        replay = self.call(case)
        tally["requests"] += 1
        if success or isinstance(replay, Exception) or replay.status_code != status:
            key = "read" if method == "GET" else "write"
            tally[f"cross_org_{key}s"] += 1
            self.fail(
                f"cross-org {key}",
                case,
                f"B id answered HTTP {status}, an unknown id "
                f"{getattr(replay, 'status_code', replay)}: {response.content[:200]!r}",
            )
        return success


def request_text(response: Any) -> str:
    body = response.request.body or b""
    body = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return (
        urllib.parse.unquote(response.request.url or "")
        + body
        + json.dumps(dict(response.request.headers))
    ).lower()


if __name__ == "__main__":
    sys.exit(main())
