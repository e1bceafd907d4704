"""Lending's part of the RGPD's rights (see accounts.rgpd and sharing.services.erasure)."""

from __future__ import annotations

import posixpath

from django.db.models import Q

from accounts.models import User
from accounts.rgpd import Blocker, ExportWriter, RgpdHandler, rows
from sharing.models import (
    Conversation,
    Item,
    ItemPhoto,
    Loan,
    Message,
    Offer,
    PersonBlock,
    Rating,
    Report,
    WantedRequest,
)
from sharing.services.erasure import member_erase, member_loans_under_way


def _blockers(user: User) -> list[Blocker]:
    return [
        Blocker(
            kind="loan",
            id=loan.pk,
            label=loan.item.title,
            role="borrower" if loan.borrower_id == user.pk else "lender",
        )
        for loan in member_loans_under_way(user)
    ]


def _erase(user: User) -> list[str]:
    return member_erase(user=user)


LOAN_FIELDS = (
    "id",
    "item_id",
    "item__title",
    "borrower_id",
    "lender_id",
    "period",
    "status",
    "message",
    "borrower_handover_at",
    "lender_handover_at",
    "return_condition",
    "return_note",
    "dispute_reason",
    "dispute_resolution",
    "renewals",
    "created_at",
    "decided_at",
    "closed_at",
)


def _export(user: User, writer: ExportWriter) -> None:
    writer.json(
        "sharing/items.json",
        rows(
            Item.objects.filter(owner=user)
            .order_by("pk")
            .values(
                "id",
                "title",
                "description",
                "category",
                "condition",
                "deposit_cents",
                "max_loan_days",
                "status",
                "created_at",
                "updated_at",
            )
        ),
    )
    photos = []
    for photo in ItemPhoto.objects.filter(item__owner=user).order_by("item_id", "position", "pk"):
        name = f"sharing/photos/{photo.item_id}-{photo.pk}{posixpath.splitext(photo.image.name)[1]}"
        if writer.file(name, photo.image.name):
            photos.append({"item_id": photo.item_id, "position": photo.position, "file": name})
    writer.json("sharing/photos.json", photos)

    loans = Loan.objects.filter(Q(borrower=user) | Q(lender=user)).order_by("pk")
    writer.json(
        "sharing/loans.json",
        [
            {**row, "role": "borrower" if row["borrower_id"] == user.pk else "lender"}
            for row in rows(loans.values(*LOAN_FIELDS))
        ],
    )
    conversations = Conversation.objects.filter(Q(first=user) | Q(second=user))
    writer.json(
        "sharing/messages.json",
        [
            {**row, "from_me": row["sender_id"] == user.pk}
            for row in rows(
                Message.objects.filter(conversation__in=conversations)
                .order_by("conversation_id", "created_at", "pk")
                .values("id", "conversation_id", "sender_id", "body", "hidden", "created_at")
            )
        ],
    )
    rating_fields = ("id", "loan_id", "rater_id", "ratee_id", "score", "comment", "created_at")
    writer.json(
        "sharing/ratings_given.json",
        rows(Rating.objects.filter(rater=user).order_by("pk").values(*rating_fields)),
    )
    writer.json(
        "sharing/ratings_received.json",
        rows(Rating.objects.filter(ratee=user).order_by("pk").values(*rating_fields)),
    )
    writer.json(
        "sharing/wanted_requests.json",
        rows(
            WantedRequest.objects.filter(requester=user)
            .order_by("pk")
            .values("id", "title", "description", "category", "period", "status", "created_at")
        ),
    )
    writer.json(
        "sharing/offers.json",
        rows(
            Offer.objects.filter(lender=user)
            .order_by("pk")
            .values("id", "wanted_id", "item_id", "message", "status", "created_at")
        ),
    )
    writer.json(
        "sharing/blocks_made.json",
        rows(
            PersonBlock.objects.filter(blocker=user)
            .order_by("pk")
            .values("blocked_id", "created_at")
        ),
    )
    writer.json(
        "sharing/reports_made.json",
        rows(
            Report.objects.filter(reporter=user)
            .order_by("pk")
            .values("id", "target", "item_id", "message_id", "reason", "status", "created_at")
        ),
    )


HANDLER = RgpdHandler(
    name="sharing",
    covers=(
        # Withdrawn, their photos deleted; kept for the loans of others that name them.
        ("sharing.Item", "owner"),
        # Deleted either way.
        ("sharing.PersonBlock", "blocker"),
        ("sharing.PersonBlock", "blocked"),
        # Kept, with the former member: the other party's history (or blocking, under way).
        ("sharing.Loan", "borrower"),
        ("sharing.Loan", "lender"),
        ("sharing.Loan", "dispute_resolved_by"),
        ("sharing.Loan", "cancelled_by"),
        # Deleted: the person's reminder log and the requests they were told about.
        ("sharing.LoanReminder", "recipient"),
        ("sharing.WantedNotice", "neighbour"),
        # Closed (requests cancelled, pending offers withdrawn), kept for the other party.
        ("sharing.WantedRequest", "requester"),
        ("sharing.Offer", "lender"),
        # Kept, with the former member: what the other person said and was told.
        ("sharing.Conversation", "first"),
        ("sharing.Conversation", "second"),
        ("sharing.Message", "sender"),
        ("sharing.Rating", "rater"),
        ("sharing.Rating", "ratee"),
        # Kept: the association's moderation record.
        ("sharing.Report", "reporter"),
        ("sharing.Report", "member"),
        ("sharing.Report", "handled_by"),
    ),
    erase=_erase,
    export=_export,
    blockers=_blockers,
    order=10,
)
