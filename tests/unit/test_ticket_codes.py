"""E-ticket codes: signed, compact, verifiable offline with the public key alone."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, replace

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from prichal.domain.ticket_codes import (
    LEGACY_PREFIX,
    InvalidTicketCode,
    TicketClaims,
    TicketSigner,
    _b64,
    verify,
)

CLAIMS = TicketClaims(ticket=str(uuid.uuid4()), tenant="astra-marine", sailing=str(uuid.uuid4()),
                      seat="main-C-12", order=4_000_000_001, departs="2026-11-23T23:45:00+03:00")


@pytest.fixture
def signer() -> TicketSigner:
    return TicketSigner(Ed25519PrivateKey.generate())


def test_a_code_carries_its_claims_and_the_key_id(signer):
    code = signer.sign(CLAIMS)
    assert code.startswith("PT2.")
    claims = verify(code, signer.public_key)
    assert claims == replace(CLAIMS, kid=signer.kid)


def test_free_seating_and_other_offsets_round_trip(signer):
    claims = TicketClaims(ticket=str(uuid.uuid4()), tenant="t", sailing=str(uuid.uuid4()), seat=None, order=1,
                          departs="2027-01-05T08:30:00-02:30")
    found = verify(signer.sign(claims), signer.public_key)
    assert (found.seat, found.departs) == (None, "2027-01-05T08:30:00-02:30")


def test_the_code_is_small_enough_for_a_quick_scan(signer):
    code = signer.sign(CLAIMS)
    assert len(code) <= 190
    assert segno.make(code, error="m", micro=False).version <= 10


def test_a_changed_byte_another_key_or_garbage_is_refused(signer):
    code = signer.sign(CLAIMS)
    head, claims, signature = code.split(".")
    tampered = f"{head}.{claims[:-2]}{'A' if claims[-2] != 'A' else 'B'}{claims[-1]}.{signature}"
    with pytest.raises(InvalidTicketCode, match="signature"):
        verify(tampered, signer.public_key)
    with pytest.raises(InvalidTicketCode, match="signature"):
        verify(code, Ed25519PrivateKey.generate().public_key())
    for garbage in ("", "PT2", "PT2.a.b", "XX1.a.b", "PT2..", code + ".x"):
        with pytest.raises(InvalidTicketCode):
            verify(garbage, signer.public_key)


def test_a_genuine_signature_over_malformed_claims_is_still_refused(signer):
    head = f"PT2.{_b64(b'too short')}"
    code = f"{head}.{_b64(signer._key.sign(head.encode()))}"
    with pytest.raises(InvalidTicketCode, match="malformed"):
        verify(code, signer.public_key)


def test_legacy_json_codes_still_verify(signer):
    body = asdict(replace(CLAIMS, kid=signer.kid))
    head = f"{LEGACY_PREFIX}.{_b64(json.dumps(body, separators=(',', ':')).encode())}"
    code = f"{head}.{_b64(signer._key.sign(head.encode()))}"
    assert verify(code, signer.public_key).ticket == CLAIMS.ticket
