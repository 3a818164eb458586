"""Authentication verdicts computed by Sendook: real keys published by a DNS server on loopback,
real dkimpy signatures, the real SMTP listener; hostile inputs end in a verdict in bounded time,
and the message is stored every time."""

from __future__ import annotations

import time

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import Message
from messages.services.authentication import authenticate
from messages.tests.inbound.mail import build_email
from messages.tests.trust.conftest import DOMAIN, new_key, sign

pytestmark = pytest.mark.django_db

FROM = f"Ceo <ceo@{DOMAIN}>"


def mail(**kwargs) -> bytes:
    kwargs.setdefault("sender", FROM)
    kwargs.setdefault("subject", "Quarterly numbers")
    kwargs.setdefault("text", "Please wire the money today.\n")
    return build_email(**kwargs)


# --- DKIM -------------------------------------------------------------------------------------


def test_a_good_signature_passes_and_names_its_domain(trust_dns, inbox, receive, signing_key):
    message, _ = receive(sign(mail(), signing_key))

    verdicts = message.verdicts
    assert verdicts["dkim"] == "pass"
    assert verdicts["domains"]["dkim"] == [DOMAIN]
    assert verdicts["domains"]["from"] == DOMAIN
    assert verdicts["checkedBy"] == "sendook"
    assert (f"sel._domainkey.{DOMAIN}", "TXT") in trust_dns.server.queries


def test_a_body_changed_after_signing_fails(trust_dns, inbox, receive, signing_key):
    signed = sign(mail(), signing_key)
    tampered = signed.replace(b"wire the money today", b"wire the money to me!")

    message, _ = receive(tampered)

    assert message.verdicts["dkim"] == "fail"
    assert message.verdicts["domains"]["dkim"] == []
    assert "body hash mismatch" in message.verdicts["reasons"]["dkim"]


def test_a_signed_header_changed_after_signing_fails(trust_dns, inbox, receive, signing_key):
    signed = sign(mail(), signing_key)

    message, _ = receive(signed.replace(b"Subject: Quarterly numbers", b"Subject: Urgent wire"))

    assert message.verdicts["dkim"] == "fail"


def test_a_signature_from_a_key_that_is_not_published_is_a_permerror(trust_dns, inbox, receive):
    other = new_key(1024)

    message, _ = receive(sign(mail(), other, selector="gone"))

    assert message.verdicts["dkim"] == "permerror"
    assert "no key published at gone._domainkey.example.test" in message.verdicts["reasons"]["dkim"]


def test_a_signature_by_another_key_than_the_published_one_fails(trust_dns, inbox, receive):
    message, _ = receive(sign(mail(), new_key(1024)))  # signed as sel._domainkey, other key

    assert message.verdicts["dkim"] == "fail"


def test_unsigned_mail_has_no_dkim_verdict_and_makes_no_lookup(trust_dns, inbox, receive):
    message, _ = receive(mail())

    assert message.verdicts["dkim"] == "none"
    assert message.verdicts["spf"] == "none"  # not our connection: not checked
    assert message.verdicts["dmarc"] == "none"
    assert trust_dns.server.queries == []


def test_forged_authentication_results_headers_change_nothing(trust_dns, inbox, receive):
    forged = {
        "Authentication-Results": "mx.google.com; dkim=pass header.d=example.test; spf=pass "
        "smtp.mailfrom=example.test; dmarc=pass header.from=example.test",
        "ARC-Authentication-Results": "i=1; mx.google.com; dkim=pass; spf=pass; dmarc=pass",
        "Received-SPF": "pass (google.com: domain of ceo@example.test designates 1.2.3.4)",
        "X-SES-Spam-Verdict": "PASS",
        "X-SES-DKIM-Verdict": "PASS",
    }
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=reject")

    forged_message, _ = receive(mail(extra_headers=forged, message_id="<forged@example.test>"))
    plain_message, _ = receive(mail(message_id="<plain@example.test>"))

    for message in (forged_message, plain_message):
        assert message.verdicts["dkim"] == "none"
        assert message.verdicts["spf"] == "none"
        assert message.verdicts["dmarc"] != "pass"
    strip = {"reasons"}
    assert {k: v for k, v in forged_message.verdicts.items() if k not in strip} == {
        k: v for k, v in plain_message.verdicts.items() if k not in strip
    }


@pytest.mark.django_db(transaction=True)
def test_a_forged_authentication_results_header_over_smtp_is_not_believed(
    trust_dns, inbox, smtp_send, settings
):
    trust_dns.spf(DOMAIN, "v=spf1 ip4:192.0.2.0/24 -all")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=reject")
    raw = mail(extra_headers={"Authentication-Results": "sendook.localhost; dkim=pass "
                              "header.d=example.test; spf=pass; dmarc=pass"})  # fmt: skip

    smtp_send(raw, mail_from=f"ceo@{DOMAIN}")

    verdicts = Message.objects.get().verdicts
    assert (verdicts["spf"], verdicts["dkim"], verdicts["dmarc"]) == ("fail", "none", "fail")


def test_l_equals_that_does_not_cover_an_appended_body_is_not_a_pass(
    trust_dns, inbox, receive, signing_key
):
    InboxFactory(organization=inbox.organization, email="sales@sendook.localhost")
    signed = sign(mail(), signing_key, length=True)
    whole, _ = receive(signed)
    appended, _ = receive(
        signed + b"\nP.S. Send it to account 666 instead.\n", to=("sales@sendook.localhost",)
    )

    assert whole.verdicts["dkim"] == "pass"
    assert appended.verdicts["dkim"] == "neutral"
    assert "l= signs only the first" in appended.verdicts["reasons"]["dkim"]
    assert appended.verdicts["domains"]["dkim"] == []


# --- DMARC ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_p_reject_with_no_aligned_pass_is_a_dmarc_fail_over_smtp(trust_dns, inbox, smtp_send):
    trust_dns.spf(DOMAIN, "v=spf1 ip4:192.0.2.10 -all")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=reject; adkim=s")

    smtp_send(mail(), mail_from=f"ceo@{DOMAIN}")

    verdicts = Message.objects.get().verdicts
    assert verdicts["spf"] == "fail"
    assert verdicts["dmarc"] == "fail"
    assert verdicts["dmarcPolicy"] == "reject"
    assert verdicts["domains"]["dmarc"] == DOMAIN


@pytest.mark.django_db(transaction=True)
def test_a_signature_by_an_unrelated_domain_does_not_satisfy_dmarc(
    trust_dns, inbox, smtp_send, signing_key
):
    trust_dns.dkim_key("attacker.test")
    trust_dns.spf("attacker.test", "v=spf1 ip4:127.0.0.1 -all")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=reject")

    smtp_send(sign(mail(), signing_key, domain="attacker.test"), mail_from="bounce@attacker.test")

    verdicts = Message.objects.get().verdicts
    assert verdicts["dkim"] == "pass" and verdicts["domains"]["dkim"] == ["attacker.test"]
    assert verdicts["spf"] == "pass" and verdicts["domains"]["spf"] == "attacker.test"
    assert verdicts["dmarc"] == "fail"
    assert "not aligned" in verdicts["reasons"]["dmarc"]


def test_an_aligned_dkim_pass_from_a_subdomain_passes_relaxed_dmarc(
    trust_dns, inbox, receive, signing_key
):
    trust_dns.dkim_key(f"mail.{DOMAIN}")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=quarantine")

    message, _ = receive(sign(mail(), signing_key, domain=f"mail.{DOMAIN}"))

    assert message.verdicts["dkim"] == "pass"
    assert message.verdicts["dmarc"] == "pass"
    assert message.verdicts["dmarcPolicy"] == "quarantine"


@pytest.mark.django_db(transaction=True)
def test_strict_dkim_alignment_refuses_a_subdomain_signature(
    trust_dns, inbox, smtp_send, signing_key
):
    trust_dns.dkim_key(f"mail.{DOMAIN}")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=reject; adkim=s")

    smtp_send(sign(mail(), signing_key, domain=f"mail.{DOMAIN}"), mail_from="")

    assert Message.objects.get().verdicts["dmarc"] == "fail"


@pytest.mark.django_db(transaction=True)
def test_a_subdomain_without_its_own_record_gets_the_organizational_domain_policy(
    trust_dns, inbox, smtp_send
):
    trust_dns.spf(f"eu.{DOMAIN}", "v=spf1 -all")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=none; sp=reject")

    smtp_send(mail(sender=f"ceo@eu.{DOMAIN}"), mail_from=f"ceo@eu.{DOMAIN}")

    verdicts = Message.objects.get().verdicts
    assert (verdicts["dmarc"], verdicts["dmarcPolicy"]) == ("fail", "reject")
    assert verdicts["domains"]["dmarc"] == DOMAIN
    assert (f"_dmarc.eu.{DOMAIN}", "TXT") in trust_dns.server.queries


# --- SPF over SMTP ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_smtp_from_an_address_outside_the_spf_record_fails_and_inside_passes(
    trust_dns, inbox, smtp_send
):
    trust_dns.spf(DOMAIN, "v=spf1 ip4:192.0.2.0/24 -all")
    trust_dns.spf("inside.test", "v=spf1 ip4:127.0.0.0/8 -all")
    trust_dns.dmarc("inside.test", "v=DMARC1; p=reject")

    smtp_send(mail(message_id="<out@x>"), mail_from=f"ceo@{DOMAIN}", helo="mx.outside.test")
    smtp_send(mail(sender="ann@inside.test", message_id="<in@x>"), mail_from="ann@inside.test")

    outside = Message.objects.get(message_id="<out@x>")
    inside = Message.objects.get(message_id="<in@x>")
    assert outside.inbound_email.client_ip == "127.0.0.1"
    assert outside.inbound_email.helo == "mx.outside.test"
    assert outside.inbound_email.mail_from == f"ceo@{DOMAIN}"
    assert outside.verdicts["spf"] == "fail" and outside.verdicts["domains"]["spf"] == DOMAIN
    assert inside.verdicts["spf"] == "pass" and inside.verdicts["domains"]["spf"] == "inside.test"
    assert inside.verdicts["dmarc"] == "pass"  # SPF aligned with From, p=reject satisfied
    assert inside.verdicts["checkedBy"] == "sendook"


@pytest.mark.django_db(transaction=True)
def test_a_null_sender_is_checked_against_the_helo_name(trust_dns, inbox, smtp_send):
    trust_dns.spf("mx.example.test", "v=spf1 ip4:127.0.0.1 -all")

    smtp_send(mail(), mail_from="", helo="mx.example.test")

    verdicts = Message.objects.get().verdicts
    assert verdicts["spf"] == "pass" and verdicts["domains"]["spf"] == "mx.example.test"


@pytest.mark.django_db(transaction=True)
def test_softfail_and_no_record(trust_dns, inbox, smtp_send):
    trust_dns.spf("soft.test", "v=spf1 ip4:192.0.2.1 ~all")

    smtp_send(mail(sender="a@soft.test", message_id="<s@x>"), mail_from="a@soft.test")
    smtp_send(mail(sender="a@nothing.test", message_id="<n@x>"), mail_from="a@nothing.test")

    assert Message.objects.get(message_id="<s@x>").verdicts["spf"] == "softfail"
    nothing = Message.objects.get(message_id="<n@x>").verdicts
    assert nothing["spf"] == "none" and nothing["dmarc"] == "none"


# --- provider verdicts ------------------------------------------------------------------------


def test_ses_verdicts_are_used_for_spf_and_dmarc_and_sendook_dkim_wins(
    trust_dns, inbox, receive, signing_key
):
    tampered = sign(mail(), signing_key).replace(b"today", b"now!!")
    ses = {"spf": "pass", "dkim": "pass", "dmarc": "pass", "spam": "pass", "virus": "pass"}

    message, _ = receive(tampered, source="ses", verdicts=ses)

    verdicts = message.verdicts
    assert verdicts["spf"] == "pass"  # SES saw the connection
    assert verdicts["dkim"] == "fail"  # Sendook checked the very bytes stored: definite
    assert verdicts["checkedBy"] == "provider"
    assert verdicts["spam"] == "pass" and verdicts["virus"] == "pass"  # kept beside


def test_ses_dkim_stands_where_sendook_found_no_signature(trust_dns, inbox, receive):
    message, _ = receive(
        mail(), source="ses", verdicts={"spf": "fail", "dkim": "gray", "dmarc": "processing_failed"}
    )

    assert message.verdicts["spf"] == "fail"
    assert message.verdicts["dkim"] == "none"
    assert message.verdicts["dmarc"] == "temperror"


def test_anymail_channels_contribute_no_verdicts_of_their_own(trust_dns, inbox, receive):
    message, _ = receive(mail(), source="anymail:postmark")

    assert message.verdicts["checkedBy"] == "sendook"
    assert message.verdicts["spf"] == "none"


# --- bad input: DNS ---------------------------------------------------------------------------


def test_a_dns_server_that_never_answers_gives_temperror_within_the_budget(
    trust_dns, inbox, receive, signing_key, settings
):
    trust_dns.misbehave(f"slow._domainkey.{DOMAIN}", "silent")
    settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS = 2

    started = time.monotonic()
    message, record = receive(sign(mail(), signing_key, selector="slow"))
    elapsed = time.monotonic() - started

    assert message.verdicts["dkim"] == "temperror"
    assert "key lookup failed" in message.verdicts["reasons"]["dkim"]
    assert elapsed < settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS + 1.5, elapsed
    assert record.status == "processed"


@pytest.mark.django_db(transaction=True)
def test_every_lookup_timing_out_over_smtp_stays_within_one_budget(
    trust_dns, inbox, smtp_send, signing_key, settings
):
    for name in (f"slow._domainkey.{DOMAIN}", DOMAIN, f"_dmarc.{DOMAIN}"):
        trust_dns.misbehave(name, "silent")
    settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS = 2.5

    started = time.monotonic()
    smtp_send(sign(mail(), signing_key, selector="slow"), mail_from=f"ceo@{DOMAIN}")
    elapsed = time.monotonic() - started

    verdicts = Message.objects.get().verdicts
    assert (verdicts["dkim"], verdicts["spf"], verdicts["dmarc"]) == (
        "temperror", "temperror", "temperror",
    )  # fmt: skip
    assert elapsed < settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS + 2, elapsed


def test_garbage_dns_answers_are_temperror_not_a_crash(trust_dns, inbox, receive, signing_key):
    trust_dns.misbehave(f"junk._domainkey.{DOMAIN}", "garbage")

    message, _ = receive(sign(mail(), signing_key, selector="junk"))

    assert message.verdicts["dkim"] == "temperror"


def test_an_unreachable_resolver_is_temperror(inbox, receive, signing_key, settings):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        settings.SENDOOK_DNS_RESOLVER = f"127.0.0.1:{silent.getsockname()[1]}"
        settings.SENDOOK_AUTH_TIME_BUDGET_SECONDS = 1.5
        settings.SENDOOK_AUTH_DNS_TIMEOUT = 1
        message, _ = receive(sign(mail(), signing_key))

    assert message.verdicts["dkim"] == "temperror"


def test_a_garbage_key_record_is_a_permerror(trust_dns, inbox, receive, signing_key):
    trust_dns.txt(f"bad._domainkey.{DOMAIN}", "v=DKIM1; k=rsa; p=bm90IGEga2V5")

    message, _ = receive(sign(mail(), signing_key, selector="bad"))

    assert message.verdicts["dkim"] == "permerror"
    assert "unusable key" in message.verdicts["reasons"]["dkim"]


@pytest.mark.django_db(transaction=True)
def test_a_garbage_dmarc_record_is_handled(trust_dns, inbox, smtp_send):
    trust_dns.spf(DOMAIN, "v=spf1 -all")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=maybe; adkim")

    smtp_send(mail(), mail_from=f"ceo@{DOMAIN}")

    assert Message.objects.get().verdicts["dmarc"] == "permerror"


@pytest.mark.django_db(transaction=True)
def test_an_spf_include_loop_is_a_permerror(trust_dns, inbox, smtp_send):
    trust_dns.spf("loop-a.test", "v=spf1 include:loop-b.test -all")
    trust_dns.spf("loop-b.test", "v=spf1 include:loop-a.test -all")

    smtp_send(mail(sender="x@loop-a.test"), mail_from="x@loop-a.test")

    assert Message.objects.get().verdicts["spf"] == "permerror"


# --- bad input: signatures --------------------------------------------------------------------


def test_a_thousand_signatures_cost_bounded_time(trust_dns, inbox, receive, signing_key, settings):
    one = sign(mail(), signing_key)
    signature = one[: one.index(b"From:")]
    raw = signature * 999 + one
    settings.SENDOOK_INBOUND_MAX_HEADERS = 5000

    started = time.monotonic()
    message, _ = receive(raw)
    elapsed = time.monotonic() - started

    assert message.verdicts["dkim"] == "pass"  # the first ones are checked
    assert "995 more signatures not checked (limit 5)" in message.verdicts["reasons"]["dkim"]
    assert elapsed < 10, elapsed
    key_lookups = [q for q in trust_dns.server.queries if q[0].endswith("_domainkey.example.test")]
    assert len(key_lookups) <= 5


def test_a_huge_h_list_is_a_permerror_unchecked(trust_dns, inbox, receive, signing_key):
    # A real signature over 150 header fields (signing absent fields is allowed).
    fields = [b"from", b"to", b"subject"] + [b"x-filler"] * 147
    InboxFactory(organization=inbox.organization, email="sales@sendook.localhost")
    long_h = sign(mail(), signing_key, include_headers=fields)
    huge = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; bh=AAAA; b=AAAA; h="
    huge += b":".join([b"x-filler"] * 5_000) + b"\r\n"

    first, _ = receive(long_h)
    second, _ = receive(huge + mail(), to=("sales@sendook.localhost",))

    assert first.verdicts["dkim"] == "permerror"
    assert "h= lists 150 fields (limit 100)" in first.verdicts["reasons"]["dkim"]
    assert second.verdicts["dkim"] == "permerror"
    assert "bytes (limit" in second.verdicts["reasons"]["dkim"]
    assert not [q for q in trust_dns.server.queries if "_domainkey" in q[0]]  # never looked up


@pytest.mark.parametrize(
    "header",
    [
        b"DKIM-Signature: garbage\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel\r\n",  # no b=, bh=, h=
        b"DKIM-Signature: v=1; a=rsa-md5; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=exa(mple; s=sel; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=!!; b=%%\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=from; l=-5; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=\xff\xfe; s=\x00; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: ;;;===;;\r\n",
    ],
)
def test_malformed_signatures_are_permerror_and_the_message_is_stored(
    trust_dns, inbox, receive, header
):
    message, record = receive(header + mail())

    assert record.status == "processed"
    assert message is not None
    assert message.verdicts["dkim"] in ("permerror", "fail"), message.verdicts


def test_a_valid_signature_after_a_malformed_one_still_passes(
    trust_dns, inbox, receive, signing_key
):
    message, _ = receive(b"DKIM-Signature: garbage\r\n" + sign(mail(), signing_key))

    assert message.verdicts["dkim"] == "pass"
    assert "signature 1" in message.verdicts["reasons"]["dkim"]


# --- ARC --------------------------------------------------------------------------------------


def test_an_arc_chain_is_verified(trust_dns, inbox, receive, signing_key):
    import dkim

    raw = mail()
    raw = b"Authentication-Results: relay.example.test; dkim=none\r\n" + raw.replace(b"\n", b"\r\n")
    arc_headers = dkim.arc_sign(
        raw, b"sel", DOMAIN.encode(), signing_key.private_pem, b"relay.example.test"
    )
    sealed = b"".join(arc_headers) + raw

    message, _ = receive(sealed)
    InboxFactory(organization=inbox.organization, email="sales@sendook.localhost")
    broken, _ = receive(
        sealed.replace(b"wire the money", b"wire the honey"), to=("sales@sendook.localhost",)
    )

    assert message.verdicts["arc"] == "pass"
    assert broken.verdicts["arc"] == "fail"
    assert message.verdicts["dkim"] == "none"  # ARC says who relayed it, not who wrote it


# --- the function directly --------------------------------------------------------------------


def test_authenticate_never_raises_on_garbage_bytes(trust_dns):
    class Record:
        source, client_ip, helo, mail_from, verdicts = "smtp", "not-an-ip", "", "", {}

    for raw in (b"", b"\x00\xff" * 100, b"DKIM-Signature:\r\n\r\n", b"From: a@b\r\n" * 10):
        result = authenticate(raw, record=Record(), from_address="a@\udcff.example")
        assert set(result) >= {"spf", "dkim", "dmarc", "checkedBy", "domains"}
        assert result["spf"] == "permerror"


# --- where the verdicts show ------------------------------------------------------------------


def test_the_api_message_and_the_event_payload_carry_authentication(
    trust_dns, inbox, receive, signing_key, api_client
):
    from sendook.events.models import Event

    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=reject")
    message, _ = receive(sign(mail(), signing_key))

    body = api_client.get(f"/v1/inboxes/{inbox.public_id}/messages/{message.public_id}").json()
    event = Event.objects.get(type="message.received", message_public_id=message.public_id)
    expected = {
        "spf": "none",
        "dkim": "pass",
        "dmarc": "pass",
        "dmarcPolicy": "reject",
        "checkedBy": "sendook",
        "domains": {"from": DOMAIN, "dkim": [DOMAIN], "dmarc": DOMAIN},
    }
    assert body["authentication"] == expected
    assert event.payload["authentication"] == expected
    listing = api_client.get(f"/v1/inboxes/{inbox.public_id}/messages").json()
    items = listing["messages"] if isinstance(listing, dict) else listing
    assert items[0]["authentication"] == expected
    # The reasons (which quote the sender's DNS) stay out of the API.
    assert "reasons" not in body["authentication"]


def test_the_received_message_shape_matches_the_declared_schema_fields(trust_dns, inbox, receive):
    from messages.api.serializers import MessageDetailSerializer, MessageSerializer

    message, _ = receive(mail())
    for serializer_class in (MessageSerializer, MessageDetailSerializer):
        serializer = serializer_class(message)
        assert "authentication" in serializer.data
        assert set(serializer.data) <= set(serializer.fields)
        nested = serializer.fields["authentication"]
        assert set(serializer.data["authentication"]) <= set(nested.fields)


@pytest.mark.django_db(transaction=True)
def test_the_admin_shows_the_verdicts_and_filters_by_dmarc(trust_dns, inbox, smtp_send, client):
    from django.contrib.auth import get_user_model

    trust_dns.spf(DOMAIN, "v=spf1 -all")
    trust_dns.dmarc(DOMAIN, "v=DMARC1; p=reject")
    smtp_send(mail(), mail_from=f"ceo@{DOMAIN}")
    message = Message.objects.get()
    root = get_user_model().objects.create_superuser(
        "root@x.example", "root@x.example", "pw-long-enough"
    )
    client.force_login(root)

    failing = client.get("/admin/mail/message/", {"dmarc": "fail"}).content.decode()
    passing = client.get("/admin/mail/message/", {"dmarc": "pass"}).content.decode()
    page = client.get(f"/admin/mail/message/{message.pk}/change/").content.decode()

    assert message.public_id in failing and "fail / none / fail" in failing
    assert message.public_id not in passing
    assert "fail / none / fail" in page
    record_page = client.get(f"/admin/mail/inboundemail/{message.inbound_email_id}/change/")
    assert "127.0.0.1" in record_page.content.decode()  # what SPF was checked against
    assert f"ceo@{DOMAIN}" in record_page.content.decode()
