"""Merchant webhooks: who is calling (an API key, stored only as a hash) and whether the body is
theirs (an HMAC-SHA256 signature of the raw body with the merchant's secret, compared in
constant time)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pooling.errors import BadSignatureError, MerchantAuthError
from pooling.models import Merchant

API_KEY_PREFIX = "vk_"
SIGNATURE_SCHEME = "sha256="


def api_key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class MerchantCredentials:
    """Shown once, when the merchant is created: only the key's hash is kept."""

    merchant: Merchant
    api_key: str
    signing_secret: str


def credentials_new() -> tuple[str, str, str]:
    """A new API key (with its public prefix) and signing secret."""
    prefix = secrets.token_hex(4)
    api_key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return api_key, prefix, secrets.token_urlsafe(32)


def merchant_authenticate(api_key: str | None) -> Merchant:
    if not api_key:
        raise MerchantAuthError()
    merchant = Merchant.objects.filter(api_key_hash=api_key_hash(api_key), is_active=True).first()
    if merchant is None:
        raise MerchantAuthError()
    return merchant


def signature_of(secret: str, raw_body: bytes) -> str:
    return SIGNATURE_SCHEME + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def signature_verify(merchant: Merchant, raw_body: bytes, header: str | None) -> None:
    """Raises unless ``header`` is ``sha256=<hex>`` of the raw body with the merchant's secret."""
    if not header:
        raise BadSignatureError()
    expected = signature_of(merchant.signing_secret, raw_body)
    if not hmac.compare_digest(expected.encode(), header.strip().lower().encode()):
        raise BadSignatureError()
