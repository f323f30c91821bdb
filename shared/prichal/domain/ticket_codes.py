"""The signed secret in an e-ticket's QR code, verifiable offline by a scanner.

Format: ``PT1.<claims>.<signature>`` where ``claims`` is base64url of compact JSON
(ticket id, tenant slug, sailing, seat, order number, departure) and ``signature`` is the
base64url Ed25519 signature of the ASCII bytes ``PT1.<claims>``. Ed25519 rather than an HMAC
because a scanner at the pier then holds only the public key: a stolen scanner cannot mint
tickets. ``kid`` (the first 8 bytes of the public key's SHA-256, hex) lets a scanner pick the
right key when keys rotate.
"""

from __future__ import annotations

import hashlib
import json
from base64 import b64decode, urlsafe_b64decode, urlsafe_b64encode
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "PT1"


class InvalidTicketCode(ValueError):
    """Not a ticket code of ours, tampered with, or signed by another key."""


@dataclass(frozen=True, slots=True)
class TicketClaims:
    ticket: str  # ticket id
    tenant: str  # tenant slug
    sailing: str
    seat: str | None
    order: int  # order number
    departs: str  # ISO 8601 departure, for the scanner's display
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


class TicketSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.kid = key_id(self.public_key)

    def sign(self, claims: TicketClaims) -> str:
        body = asdict(claims) | {"kid": self.kid}
        head = f"{PREFIX}.{_b64(json.dumps(body, separators=(',', ':'), ensure_ascii=False).encode())}"
        return f"{head}.{_b64(self._key.sign(head.encode()))}"


def verify(code: str, public_key: Ed25519PublicKey) -> TicketClaims:
    """The claims of a genuine code; raises ``InvalidTicketCode`` otherwise."""
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidTicketCode("not a Prichal ticket code")
    try:
        public_key.verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode())
        return TicketClaims(**json.loads(_unb64(parts[1])))
    except InvalidSignature as exc:
        raise InvalidTicketCode("the signature does not match") from exc
    except (ValueError, TypeError) as exc:
        raise InvalidTicketCode("malformed ticket code") from exc
