"""Which entry decides for an address (services.lists.listed): the most specific value first,
block before allow at the same value, an inbox's entries beside its organization's; and the
values the lists store."""

from __future__ import annotations

import pytest

from inboxes.tests.factories import InboxFactory
from messages.services import lists
from messages.services.provenance import SYSTEM
from sendook.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org)


def _add(org, value, kind="block", *, inbox=None, direction="receive"):
    return lists.add_entry(
        org, inbox=inbox, direction=direction, kind=kind, value=value, actor=SYSTEM
    )


def _listed(org, address, *, inbox=None, direction="receive"):
    return lists.listed(org, inbox=inbox, direction=direction, address=address)


def test_a_domain_covers_its_subdomains_but_not_lookalike_suffixes(org, inbox):
    _add(org, "spam.example")
    assert _listed(org, "a@spam.example", inbox=inbox) == "block"
    assert _listed(org, "a@deep.mail.spam.example", inbox=inbox) == "block"
    assert _listed(org, "a@notspam.example", inbox=inbox) is None
    assert _listed(org, "a@spam.example.org", inbox=inbox) is None


def test_the_most_specific_value_decides(org, inbox):
    _add(org, "example.com")
    _add(org, "partner.example.com", "allow")
    _add(org, "eve@partner.example.com")
    assert _listed(org, "x@example.com", inbox=inbox) == "block"
    assert _listed(org, "x@eu.partner.example.com", inbox=inbox) == "allow"
    assert _listed(org, "Eve <EVE@Partner.Example.com>", inbox=inbox) == "block"


def test_at_the_same_value_block_beats_allow_wherever_each_is(org, inbox):
    _add(org, "spam.example")
    _add(org, "spam.example", "allow", inbox=inbox)
    assert _listed(org, "a@spam.example", inbox=inbox) == "block"
    other = InboxFactory(organization=org)
    _add(org, "ok.example", "allow")
    _add(org, "ok.example", inbox=other)
    assert _listed(org, "a@ok.example", inbox=other) == "block"
    assert _listed(org, "a@ok.example", inbox=inbox) == "allow"


def test_an_inbox_allow_of_an_address_beats_the_organizations_domain_block(org, inbox):
    _add(org, "partner.example")
    _add(org, "ceo@partner.example", "allow", inbox=inbox)
    assert _listed(org, "ceo@partner.example", inbox=inbox) == "allow"
    assert _listed(org, "cfo@partner.example", inbox=inbox) == "block"
    assert _listed(org, "ceo@partner.example", inbox=InboxFactory(organization=org)) == "block"


def test_another_organizations_entries_never_count(org, other_org, inbox):
    _add(other_org, "spam.example")
    assert _listed(org, "a@spam.example", inbox=inbox) is None


def test_unicode_senders_match_their_idna_entries(org, inbox):
    _add(org, "bücher.example")
    assert _listed(org, "ann@BÜCHER.example", inbox=inbox) == "block"
    assert _listed(org, "ann@xn--bcher-kva.example", inbox=inbox) == "block"


@pytest.mark.parametrize("sender", ["", "not an address", "@", "a@", "<>", "b.example"])
def test_a_sender_that_is_not_an_address_is_listed_nowhere(org, inbox, sender):
    _add(org, "b.example")
    assert _listed(org, sender, inbox=inbox) is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Spam.Example", "spam.example"),
        ("spam.example.", "spam.example"),
        (" ann@Spam.Example ", "ann@spam.example"),
        ("o'brien+tag@x.example", "o'brien+tag@x.example"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_values_are_stored_lower_cased_with_idna_domains(value, stored):
    assert lists.normalize_value(value) == stored


def test_an_entry_for_another_organizations_inbox_is_refused(org, other_org):
    with pytest.raises(ValidationFailed):
        _add(org, "a.example", inbox=InboxFactory(organization=other_org))
