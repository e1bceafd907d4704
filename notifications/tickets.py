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


@dataclass(frozen=True)
class TicketOwner:
    user_id: int
    # The signed-in session that asked for the ticket: ending it closes the socket.
    session_id: str | None


def ticket_issue(*, user_id: int, session_id: str | None = None) -> Ticket:
    """A new ticket for ``user_id`` (and the session it came from). Raises ``redis.RedisError``
    when Redis is unreachable."""
    token = secrets.token_urlsafe(32)
    ttl_ms = max(1, round(settings.REALTIME_TICKET_TTL_SECONDS * 1000))
    value = f"{user_id}:{session_id}" if session_id else str(user_id)
    sync_client().set(_ticket_key(token), value, px=ttl_ms, nx=True)
    return Ticket(token=token, expires_in=ttl_ms / 1000)


async def ticket_redeem_owner(token: str) -> TicketOwner | None:
    """Who the ticket was issued to, once; ``None`` for an unknown, used or expired one."""
    if not TICKET.match(token):
        return None
    value = await async_client().getdel(_ticket_key(token))
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    user, _, session = text.partition(":")
    return TicketOwner(user_id=int(user), session_id=session or None)


async def ticket_redeem(token: str) -> int | None:
    """The user the ticket was issued to, once; ``None`` for an unknown, used or expired one."""
    owner = await ticket_redeem_owner(token)
    return None if owner is None else owner.user_id


def ticket_exists(token: str) -> bool:
    """Whether the ticket can still be redeemed (for tests and diagnostics)."""
    return bool(sync_client().exists(_ticket_key(token)))
