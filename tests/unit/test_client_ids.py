"""Storefront client ids signed with the tenant's key (HMAC-SHA256, base64url)."""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode

import pytest

from prichal.domain.client_ids import sign_client_id, verified_client_id

KEY = "k" * 64
SIGNED = sign_client_id(KEY, "demo", "abc")
CHANGED = SIGNED[:-1] + ("B" if SIGNED.endswith("A") else "A")


def test_a_signed_id_verifies_to_its_id():
    signed = sign_client_id(KEY, "demo", "session-42_A")
    assert verified_client_id(KEY, "demo", signed) == "session-42_A"


def test_the_documented_format():
    digest = hmac.new(KEY.encode(), b"v1\ndemo\nabc", hashlib.sha256).digest()
    assert sign_client_id(KEY, "demo", "abc") == "abc." + urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.mark.parametrize("value", [
    "abc",  # unsigned
    "abc.",  # no signature
    ".sig",
    "abd." + SIGNED.split(".")[1],  # another id's signature
    SIGNED[:-1],  # cut short
    CHANGED,  # one character changed
    sign_client_id("another key", "demo", "abc"),  # another tenant's key
    sign_client_id(KEY, "other", "abc"),  # signed for another tenant
    "a b." + "A" * 43,  # an id outside the alphabet
    "x" * 65 + "." + "A" * 43,  # an id too long
    "abc." + "é" * 43,  # not base64
])
def test_anything_else_is_not_verified(value):
    assert verified_client_id(KEY, "demo", value) is None


def test_no_key_verifies_nothing():
    assert verified_client_id("", "demo", sign_client_id("", "demo", "abc")) is None
    assert verified_client_id(None, "demo", "abc." + "A" * 43) is None


@pytest.mark.parametrize("client_id", ["", "a.b", "a b", "x" * 65, "ид"])
def test_only_ids_of_the_alphabet_can_be_signed(client_id):
    with pytest.raises(ValueError):
        sign_client_id(KEY, "demo", client_id)


def test_the_tenant_key_stays_out_of_repr():
    from prichal.domain.tenants import Tenant

    assert KEY not in repr(Tenant(id="t", slug="demo", name="Demo", storefront_key=KEY))
