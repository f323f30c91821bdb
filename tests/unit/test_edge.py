"""What the edge believes: tenant headers only through trusted proxies, webhook URL tokens,
and the local gateway's rewriting of a client's forwarding headers and its body limit."""

from __future__ import annotations

import io

import pytest

from prichal.domain.errors import TenantMissing
from prichal.domain.tenants import Tenant
from prichal.domain.webhook_tokens import token_matches, webhook_token
from prichal.entrypoints.app import CaseInsensitiveDict, Request
from prichal.entrypoints.client_address import parse_networks
from prichal.entrypoints.tenancy import TenantResolver
from prichal_localrun.gateway import BodyTooLarge, _forward_client, _read_body

ACME = Tenant(id="00000000-0000-0000-0000-00000000000a", slug="acme", name="Acme")
DEMO = Tenant(id="00000000-0000-0000-0000-00000000000d", slug="demo", name="Demo")


class Directory:
    def by_slug(self, slug: str) -> Tenant | None:
        return {"acme": ACME, "demo": DEMO}.get(slug)

    def by_host(self, host: str) -> Tenant | None:
        return {"acme.example": ACME, "localhost": DEMO}.get(host)


def _request(trusted: bool, **headers: str) -> Request:
    return Request(method="GET", path="/", headers=CaseInsensitiveDict(headers), query={}, body=b"",
                   forwarded_trusted=trusted)


@pytest.fixture
def resolve() -> TenantResolver:
    return TenantResolver(Directory(), "X-Tenant", 30)  # type: ignore[arg-type]


def test_tenant_header_counts_through_trusted_proxies(resolve):
    assert resolve(_request(True, **{"X-Tenant": "acme", "Host": "localhost"})) is ACME
    assert resolve(_request(True, **{"X-Forwarded-Host": "acme.example", "Host": "localhost"})) is ACME


def test_a_client_cannot_choose_the_tenant_with_headers(resolve):
    assert resolve(_request(False, **{"X-Tenant": "acme", "Host": "localhost"})) is DEMO
    assert resolve(_request(False, **{"X-Forwarded-Host": "acme.example", "Host": "localhost"})) is DEMO
    with pytest.raises(TenantMissing):
        resolve(_request(False, **{"X-Tenant": "acme"}))


def test_the_host_a_client_typed_still_chooses(resolve):
    assert resolve(_request(False, Host="acme.example:8443")) is ACME


# --- webhook URL tokens -----------------------------------------------------------------------
def test_webhook_tokens_are_per_key_provider_and_tenant():
    token = webhook_token("key", "yookassa", "acme")
    assert len(token) == 43 and token.replace("-", "").replace("_", "").isalnum()
    assert token_matches("key", "yookassa", "acme", token)
    assert not token_matches("other", "yookassa", "acme", token)
    assert not token_matches("key", "mock", "acme", token)
    assert not token_matches("key", "yookassa", "acme2", token)
    assert not token_matches("key", "yookassa", "acme", token[:-1])
    assert not token_matches("", "yookassa", "acme", webhook_token("", "yookassa", "acme"))


# --- the local gateway as the edge --------------------------------------------------------------
TRUSTED = parse_networks("10.9.0.0/16")


def _environ(remote: str, **headers: str) -> dict[str, str]:
    return {"REMOTE_ADDR": remote, "HTTP_HOST": "localhost:8080",
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}}


def test_the_gateway_replaces_what_an_untrusted_client_claims():
    environ = _environ("203.0.113.7", **{"X-Forwarded-For": "185.71.76.1", "X-Forwarded-Host": "acme.example",
                                         "X-Tenant": "acme", "Forwarded": "for=185.71.76.1",
                                         "X-Real-Ip": "185.71.76.1"})
    _forward_client(environ, TRUSTED, "HTTP_X_TENANT")
    assert environ["HTTP_X_FORWARDED_FOR"] == "203.0.113.7"
    assert environ["HTTP_X_FORWARDED_HOST"] == "localhost:8080"
    assert not {"HTTP_X_TENANT", "HTTP_FORWARDED", "HTTP_X_REAL_IP"} & environ.keys()


def test_the_gateway_passes_on_a_trusted_proxys_client_and_headers():
    environ = _environ("10.9.0.2", **{"X-Forwarded-For": "6.6.6.6, 198.51.100.1", "X-Forwarded-Host": "acme.example",
                                      "X-Tenant": "acme"})
    _forward_client(environ, TRUSTED, "HTTP_X_TENANT")
    assert environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.1"
    assert (environ["HTTP_X_FORWARDED_HOST"], environ["HTTP_X_TENANT"]) == ("acme.example", "acme")
    alone = _environ("10.9.0.2")
    _forward_client(alone, TRUSTED, "HTTP_X_TENANT")
    assert alone["HTTP_X_FORWARDED_FOR"] == "10.9.0.2"  # a proxy calling on its own behalf


class Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.taken += len(out)
        return out


def test_the_gateway_reads_no_further_than_the_limit():
    declared = Counting(b"x" * 100)
    with pytest.raises(BodyTooLarge):
        _read_body({"wsgi.input": declared, "CONTENT_LENGTH": "100"}, 10)
    assert declared.taken == 0
    chunked = Counting(b"x" * 100)
    with pytest.raises(BodyTooLarge):
        _read_body({"wsgi.input": chunked, "wsgi.input_terminated": True}, 10)
    assert chunked.taken == 11
    assert _read_body({"wsgi.input": io.BytesIO(b"x" * 10), "wsgi.input_terminated": True}, 10) == b"x" * 10
