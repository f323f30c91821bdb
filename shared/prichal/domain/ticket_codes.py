"""The signed secret in an e-ticket's QR code, verifiable offline by a scanner.

Format: ``PT2.<claims>.<signature>``, both parts base64url without padding. ``claims`` is a
packed binary record (big-endian):

    kid 8 bytes | ticket UUID 16 | sailing UUID 16 | order number u32 |
    departure u32 minutes since 1970 UTC | its UTC offset i16 minutes |
    tenant slug: u8 length + UTF-8 | seat id: u8 length + UTF-8 (0: free seating)

and ``signature`` is the Ed25519 signature of the ASCII bytes ``PT2.<claims>``. The whole
code is ~180 characters, a version 9-10 QR code: half the modules of the JSON claims of
``PT1`` (still verified, never issued), so it scans faster from a phone screen at the pier.
Ed25519 rather than an HMAC because a scanner then holds only the public key: a stolen
scanner cannot mint tickets. ``kid`` (the first 8 bytes of the public key's SHA-256) lets a
scanner pick the right key when keys rotate.
"""

from __future__ import annotations

import hashlib
import json
import struct
import uuid
from base64 import b64decode, urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "PT2"
LEGACY_PREFIX = "PT1"  # JSON claims; verified, no longer issued
_FIXED = struct.Struct(">8s16s16sIIh")  # kid, ticket, sailing, order, departure minutes, UTC offset minutes


class InvalidTicketCode(ValueError):
    """Not a ticket code of ours, tampered with, or signed by another key."""


@dataclass(frozen=True, slots=True)
class TicketClaims:
    ticket: str  # ticket id
    tenant: str  # tenant slug
    sailing: str
    seat: str | None
    order: int  # order number
    departs: str  # ISO 8601 departure (to the minute), for the scanner's display
    kid: str = ""


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 key, or base64 of the raw 32-byte seed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the ticket signing key must be an Ed25519 key")
        return key
    try:
        seed = b64decode(text, validate=True)
    except ValueError as exc:
        raise ValueError("the ticket signing key is neither PEM nor base64") from exc
    if len(seed) != 32:
        raise ValueError("a raw Ed25519 ticket signing key is 32 bytes (base64)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _packed_text(value: str | None) -> bytes:
    data = (value or "").encode()
    if len(data) > 255:
        raise ValueError("a tenant slug or seat id of more than 255 bytes does not fit a ticket code")
    return bytes([len(data)]) + data


def pack_claims(claims: TicketClaims, kid: str) -> bytes:
    departs = datetime.fromisoformat(claims.departs)
    offset = departs.utcoffset()
    if offset is None:
        raise ValueError("the departure needs its UTC offset")
    return (_FIXED.pack(bytes.fromhex(kid), uuid.UUID(claims.ticket).bytes, uuid.UUID(claims.sailing).bytes,
                        claims.order, int(departs.timestamp()) // 60, int(offset.total_seconds()) // 60)
            + _packed_text(claims.tenant) + _packed_text(claims.seat))


def unpack_claims(data: bytes) -> TicketClaims:
    kid, ticket, sailing, order, minutes, offset = _FIXED.unpack_from(data)
    position = _FIXED.size
    texts = []
    for _ in range(2):
        length = data[position]
        texts.append(data[position + 1:position + 1 + length].decode())
        position += 1 + length
    if position != len(data):
        raise ValueError("trailing or missing bytes in the claims")
    zone = timezone(timedelta(minutes=offset))
    return TicketClaims(ticket=str(uuid.UUID(bytes=ticket)), tenant=texts[0], sailing=str(uuid.UUID(bytes=sailing)),
                        seat=texts[1] or None, order=order,
                        departs=datetime.fromtimestamp(minutes * 60, zone).isoformat(), kid=kid.hex())


class TicketSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.kid = key_id(self.public_key)

    def sign(self, claims: TicketClaims) -> str:
        head = f"{PREFIX}.{_b64(pack_claims(claims, self.kid))}"
        return f"{head}.{_b64(self._key.sign(head.encode()))}"


def verify(code: str, public_key: Ed25519PublicKey) -> TicketClaims:
    """The claims of a genuine code; raises ``InvalidTicketCode`` otherwise."""
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] not in (PREFIX, LEGACY_PREFIX):
        raise InvalidTicketCode("not a Prichal ticket code")
    try:
        public_key.verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode())
        if parts[0] == LEGACY_PREFIX:
            return TicketClaims(**json.loads(_unb64(parts[1])))
        return unpack_claims(_unb64(parts[1]))
    except InvalidSignature as exc:
        raise InvalidTicketCode("the signature does not match") from exc
    except (ValueError, TypeError, IndexError, struct.error) as exc:
        raise InvalidTicketCode("malformed ticket code") from exc
