"""Conversations between the two parties of a loan or of an offer, and nobody else.

A conversation is opened by the service that creates its subject (``loan_request``,
``offer_create``); here the parties read it and write to it. Messages hidden by the association
are never shown again; the other party hears of each new message (``message.new``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from backend.errors import DomainError, ForbiddenError, NotFoundError
from notifications.services.events import notify
from sharing.locks import lock
from sharing.models import Conversation, Message
from sharing.selectors import blocked_between
from sharing.selectors_community import display_name
from sharing.services.blocks import BlockedError

BODY_MAX = 2000
PREVIEW_MAX = 140


class NotAPartyError(ForbiddenError):
    code = "not_a_party"
    default_message = _("Only the two people of this conversation can read and write in it.")


def conversation_for(user: User, conversation_id: int) -> Conversation:
    """The conversation, if ``user`` is one of its two parties: 404 when it does not exist,
    403 when it is someone else's."""
    conversation = (
        Conversation.objects.select_related("first", "second").filter(pk=conversation_id).first()
    )
    if conversation is None:
        raise NotFoundError()
    if user.pk not in (conversation.first_id, conversation.second_id):
        raise NotAPartyError()
    return conversation


def _preview(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= PREVIEW_MAX else flat[: PREVIEW_MAX - 1].rstrip() + "…"


@transaction.atomic
def message_send(*, sender: User, conversation_id: int, body: str) -> Message:
    text = body.strip()
    if not text or len(text) > BODY_MAX:
        raise DomainError(
            _("A message has between 1 and 2000 characters."),
            code="invalid",
            fields={"body": [_("A message has between 1 and 2000 characters.")]},
        )
    conversation_for(sender, conversation_id)  # 404 / 403 before any lock
    conversation = lock(Conversation, conversation_id)
    if blocked_between(conversation.first_id, conversation.second_id):
        raise BlockedError()
    message = Message.objects.create(conversation=conversation, sender=sender, body=text)
    conversation.last_message_at = message.created_at or timezone.now()
    conversation.save(update_fields=["last_message_at"])
    other = conversation.second_id if sender.pk == conversation.first_id else conversation.first_id
    notify(
        event_type="message.new",
        recipients=[other],
        data={
            "conversation_id": conversation.pk,
            "message_id": message.pk,
            "sender_id": sender.pk,
            "sender_name": display_name(sender),
            "preview": _preview(text),
        },
    )
    return message
