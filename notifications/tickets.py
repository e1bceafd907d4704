"""Websocket tickets: a random token, good for one connection within a few seconds.

Apps authenticate the socket with a ticket taken over the authenticated API, so no access token
ever travels in a URL (where proxies and logs keep it). Redis keeps only a hash of the ticket;
``GETDEL`` redeems it atomically, so a ticket opens at most one socket.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

from notifications.redis_state import async_client, key, sync_client

TICKET = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class Ticket:
    token: str
    expires_in: float


def _ticket_key(token: str) -> str:
    return key("ticket", hashlib.sha256(token.encode()).hexdigest())


def ticket_issue(*, user_id: int) -> Ticket:
    """A new ticket for ``user_id``. Raises ``redis.RedisError`` when Redis is unreachable."""
    token = secrets.token_urlsafe(32)
    ttl_ms = max(1, round(settings.REALTIME_TICKET_TTL_SECONDS * 1000))
    sync_client().set(_ticket_key(token), str(user_id), px=ttl_ms, nx=True)
    return Ticket(token=token, expires_in=ttl_ms / 1000)


async def ticket_redeem(token: str) -> int | None:
    """The user the ticket was issued to, once; ``None`` for an unknown, used or expired one."""
    if not TICKET.match(token):
        return None
    value = await async_client().getdel(_ticket_key(token))
    return int(value) if value is not None else None


def ticket_exists(token: str) -> bool:
    """Whether the ticket can still be redeemed (for tests and diagnostics)."""
    return bool(sync_client().exists(_ticket_key(token)))
