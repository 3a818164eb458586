# ruff: noqa: RUF001, RUF003  (homoglyph domains are the subject of these tests)
"""Trust signals on received mail: authenticated, firstContact, lookalikeOf — computed when the
message is stored from real MIME, and shown in the API, the event payload and the admin."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model

from inboxes.tests.factories import DomainFactory, InboxFactory
from messages.models import Correspondent, Message
from messages.services.receive import receive_raw_email
from messages.services.trust import (
    is_authenticated,
    looks_like,
    skeleton,
    trust_signals,
)
from messages.tests.inbound.mail import build_email
from sendook.events.models import Event

pytestmark = pytest.mark.django_db

DESK = "desk@acme.com"
PLACEHOLDER = "sender@placeholder.invalid"


@pytest.fixture(autouse=True)
def _fresh_domains(settings):
    # Each test adds counterparties between deliveries; the domain cache is tested on its own.
    settings.SENDOOK_TRUST_DOMAINS_SECONDS = 0


@pytest.fixture
def desk(org):
    """An inbox on the organization's own domain that has written to a customer at globex.com."""
    domain = DomainFactory(organization=org, name="acme.com", verified=True)
    inbox = InboxFactory(organization=org, email=DESK, domain=domain)
    Correspondent.objects.create(inbox=inbox, email="buyer@globex.com")
    return inbox


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Real MIME through receive_raw_email and the pipeline; the stored message."""

    def _deliver(sender: str, *, verdicts=None, to: str = DESK, subject: str = "Hello") -> Message:
        # Internationalized addresses travel as UTF-8 headers (RFC 6532), as SMTPUTF8 mail does.
        raw = build_email(sender=PLACEHOLDER, to=to, subject=subject, text="Please wire the money.")
        raw = raw.replace(PLACEHOLDER.encode(), sender.encode())
        with django_capture_on_commit_callbacks(execute=True):
            record = receive_raw_email(raw, recipients=[to], source="smtp", verdicts=verdicts)
        return Message.objects.get(inbound_email=record)

    return _deliver


# --- lookalikes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "imitated"),
    [
        ("ceo@acrne.com", "acme.com"),  # rn read as m
        ("ceo@аcme.com", "acme.com"),  # Cyrillic а
        ("ceo@xn--cme-5cd.com", "acme.com"),  # the same, as its IDNA A-label
        ("ceo@acme.co", "acme.com"),  # one edit
        ("ceo@acmee.com", "acme.com"),
        ("billing@gIobex.com", "globex.com"),  # a capital I for the l (lower-cased: i)
        ("billing@g1obex.com", "globex.com"),  # digit one for the l
        ("billing@glob3x.com", "globex.com"),  # one edit from a domain the inbox wrote to
        ("billing@ɡlobex.com", "globex.com"),  # Latin script g
    ],
)
def test_a_from_domain_imitating_an_own_or_known_domain_is_named_as_its_lookalike(
    desk, deliver, sender, imitated
):
    message = deliver(sender)

    assert message.trust["lookalikeOf"] == imitated
    assert message.trust["authenticated"] is False


@pytest.mark.parametrize(
    "sender",
    [
        "ceo@acme.com",  # the domain itself
        "alerts@mail.acme.com",  # a subdomain of it
        "buyer2@globex.com",  # a domain the inbox wrote to
        "someone@example.org",  # unrelated
        "someone@initech.io",  # unrelated, if long
    ],
)
def test_the_domain_itself_and_unrelated_domains_are_not_lookalikes(desk, deliver, sender):
    message = deliver(sender)

    assert "lookalikeOf" not in message.trust


def test_a_domain_that_once_mailed_the_inbox_does_not_become_safe_to_imitate_with(desk, deliver):
    first = deliver("ceo@acrne.com")
    second = deliver("cfo@acrne.com")

    assert first.trust["lookalikeOf"] == second.trust["lookalikeOf"] == "acme.com"


def test_a_lookalike_of_a_domain_the_inbox_only_received_from_is_caught(desk, deliver):
    deliver("ann@initech.io")

    assert deliver("ann@lnitech.io").trust["lookalikeOf"] == "initech.io"


def test_lookalikes_of_another_organizations_domains_are_not_reported(desk, deliver, other_org):
    DomainFactory(organization=other_org, name="umbrella.com", verified=True)

    assert "lookalikeOf" not in deliver("x@urnbrella.com").trust


def test_short_names_one_edit_apart_are_different_names_but_homoglyphs_still_count():
    assert not looks_like("ab.io", "ac.io")
    assert looks_like("аb.io", "ab.io")  # Cyrillic а
    assert not looks_like("acme.com", "acme.com")
    assert not looks_like("eu.acme.com", "acme.com")
    assert looks_like("acme-corp.com", "acmecorp.com")
    assert skeleton("ＡＣＭＥ.com") == "acme.com"  # fullwidth letters, NFKC


# --- authenticated -----------------------------------------------------------------------------


def test_dmarc_pass_or_an_aligned_dkim_pass_authenticates_and_nothing_else_does():
    aligned = {"dkim": "pass", "domains": {"from": "acme.com", "dkim": ["mail.acme.com"]}}
    unaligned = {"dkim": "pass", "domains": {"from": "acme.com", "dkim": ["mailer.example"]}}

    assert is_authenticated({"dmarc": "pass"}, from_domain="acme.com")
    assert is_authenticated({"dmarc": "PASS"}, from_domain="acme.com")  # SES writes capitals
    assert is_authenticated(aligned, from_domain="acme.com")
    assert is_authenticated(aligned, from_domain="billing.acme.com")
    assert not is_authenticated(unaligned, from_domain="acme.com")
    assert not is_authenticated({"spf": "pass", "dkim": "pass"}, from_domain="acme.com")
    assert not is_authenticated({"dmarc": "fail"}, from_domain="acme.com")
    assert not is_authenticated({}, from_domain="acme.com")
    assert not is_authenticated({"domains": "garbage"}, from_domain="acme.com")


def test_verdicts_from_the_way_in_set_authenticated_and_headers_in_the_message_do_not(
    desk, deliver, django_capture_on_commit_callbacks
):
    assert deliver("ann@globex.com", verdicts={"dmarc": "pass"}).trust["authenticated"] is True

    forged = build_email(
        sender="ceo@globex.com",
        to=DESK,
        extra_headers={"Authentication-Results": "mx.acme.com; dkim=pass; dmarc=pass"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        record = receive_raw_email(forged, recipients=[DESK], source="smtp")
    assert Message.objects.get(inbound_email=record).trust["authenticated"] is False


# --- firstContact ------------------------------------------------------------------------------


def test_first_contact_is_true_until_the_inbox_has_exchanged_mail_with_the_sender(desk, deliver):
    assert deliver("zoe@example.org").trust["firstContact"] is True
    assert deliver("zoe@example.org", subject="Again").trust["firstContact"] is False
    # An address the inbox wrote to is no first contact either, whatever the case.
    assert deliver("Buyer@Globex.com").trust["firstContact"] is False
    # Per inbox: the organization's other inbox has never heard from Zoe.
    other = InboxFactory(organization=desk.organization, email="sales@acme.com")
    assert deliver("zoe@example.org", to=other.email).trust["firstContact"] is True


def test_a_sent_reply_ends_the_first_contact(desk, deliver, api_client, send):
    assert deliver("yan@example.net").trust["firstContact"] is True
    response = send(
        f"/v1/inboxes/{desk.public_id}/messages/send",
        {"to": ["yan@example.net"], "subject": "Re: Hello", "text": "Hi Yan"},
    )
    assert response.status_code == 202
    Message.objects.filter(from_email__iexact="yan@example.net").delete()  # only the send left

    assert deliver("yan@example.net").trust["firstContact"] is False


def test_listed_is_recorded_only_as_allow_or_block(desk):
    def signals(listed):
        return trust_signals(inbox=desk, from_address="a@b.example", verdicts={}, listed=listed)

    assert signals("block")["listed"] == "block"
    assert signals("allow")["listed"] == "allow"
    assert "listed" not in signals(None)
    assert "listed" not in signals("nonsense")


# --- where trust shows ------------------------------------------------------------------------


def test_trust_is_in_the_api_message_and_the_message_received_payload(desk, deliver, api_client):
    message = deliver("ceo@acrne.com")
    expected = {"authenticated": False, "firstContact": True, "lookalikeOf": "acme.com"}

    body = api_client.get(f"/v1/inboxes/{desk.public_id}/messages/{message.public_id}").json()
    assert body["trust"] == expected
    listed = api_client.get(f"/v1/inboxes/{desk.public_id}/messages").json()
    assert listed[0]["trust"] == expected
    event = Event.objects.get(type="message.received", message_public_id=message.public_id)
    assert event.payload["trust"] == expected
    schema = api_client.get("/v1/openapi.json").json()["components"]["schemas"]
    assert {"authenticated", "firstContact", "lookalikeOf"} <= set(schema["Trust"]["properties"])


def test_sent_mail_carries_no_trust_object(desk, api_client, send):
    response = send(
        f"/v1/inboxes/{desk.public_id}/messages/send",
        {"to": ["a@example.org"], "subject": "s", "text": "t"},
    )
    assert "trust" not in response.json()


def test_staff_see_a_messages_trust_in_the_admin(desk, deliver, client):
    message = deliver("ceo@acrne.com")
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)

    page = client.get(f"/admin/mail/message/{message.pk}/change/").content.decode()
    assert "lookalikeOf" in page and "acme.com" in page


def test_the_domains_are_cached_but_first_contact_never_is(desk, deliver, settings):
    settings.SENDOOK_TRUST_DOMAINS_SECONDS = 300
    assert deliver("kim@example.org").trust["firstContact"] is True
    # Cached domains: a counterparty added now is compared from the next refresh on...
    Correspondent.objects.create(inbox=desk, email="x@initech.io")
    assert "lookalikeOf" not in deliver("y@lnitech.io").trust
    # ...but whether this very address wrote before is always asked.
    assert deliver("kim@example.org", subject="2").trust["firstContact"] is False


def test_trust_for_a_large_correspondence_stays_quick(desk):
    Correspondent.objects.bulk_create(
        [Correspondent(inbox=desk, email=f"p{i}@company{i}.example") for i in range(3000)]
    )
    started = time.monotonic()
    signals = trust_signals(
        inbox=desk, from_address="x@cornpany17.example", verdicts={}, listed=None
    )
    assert signals["lookalikeOf"] == "company17.example"
    assert time.monotonic() - started < 2.0


# --- the staff UI's sender warning ----------------------------------------------------------


@pytest.fixture
def desk_staff(desk, client):
    from inboxes.tests.factories import MembershipFactory

    client.force_login(MembershipFactory(organization=desk.organization).user)
    return client


def _page(client, message: Message) -> str:
    return client.get(f"/threads/{message.thread.public_id}").content.decode()


def test_the_thread_page_warns_of_an_unverified_sender_claiming_the_organizations_domain(
    desk, deliver, desk_staff
):
    forged = deliver("ceo@acme.com", verdicts={"spf": "fail", "dmarc": "fail"})

    page = _page(desk_staff, forged)
    assert "Unverified sender" in page and "comes from acme.com" in page


def test_no_warning_for_unknown_or_authenticated_senders_and_a_lookalike_is_named(
    desk, deliver, desk_staff
):
    stranger = deliver("someone@example.org")  # unauthenticated, but claims nobody we know
    assert "trust-warning" not in _page(desk_staff, stranger)
    genuine = deliver("buyer@globex.com", verdicts={"dmarc": "pass"}, subject="Genuine")
    assert "trust-warning" not in _page(desk_staff, genuine)
    lookalike = deliver("ceo@acrne.com", subject="Lookalike")
    page = _page(desk_staff, lookalike)
    assert "Unverified sender" in page and "Looks like acme.com" in page
