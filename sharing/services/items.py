"""Items: listing, editing, withdrawing, blocked periods and photos."""

from __future__ import annotations

import io
import unicodedata
import uuid
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg.types.range import Range

from accounts.models import User
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from geo.privacy import blurred_point
from geo.snapping import snap_fields
from neighbourhoods.selectors import require_active_member
from sharing.codes import new_item_code
from sharing.locks import lock
from sharing.models import BlockedPeriod, Item, ItemPhoto

EDITABLE = ("title", "description", "category", "condition", "deposit_cents", "max_loan_days")


class NoHomeError(DomainError):
    code = "home_required"
    default_message = _("Set your home first: items are found by walking time from it.")


class NotOwnerError(ForbiddenError):
    code = "not_owner"
    default_message = _("Only the owner can change this item.")


class PhotoError(DomainError):
    code = "invalid_photo"
    default_message = _("This file is not a usable photo (JPEG, PNG or WebP).")


def normalize(text: str) -> str:
    """Lower case without accents, for trigram matching."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))[:120]


def _refresh_search(item_id: int) -> None:
    vector = (
        SearchVector("title", config="voisinage_fr", weight="A")
        + SearchVector("description", config="voisinage_fr", weight="B")
        + SearchVector("title", config="voisinage_en", weight="A")
        + SearchVector("description", config="voisinage_en", weight="B")
    )
    Item.objects.filter(pk=item_id).update(search=vector)


@transaction.atomic
def item_create(
    *,
    owner: User,
    title: str,
    category: str,
    description: str = "",
    condition: str = "good",
    deposit_cents: int = 0,
    max_loan_days: int = 7,
) -> Item:
    require_active_member(owner)
    if owner.home is None:
        raise NoHomeError()
    fields = {
        "owner": owner,
        "title": title.strip(),
        "description": description.strip(),
        "category": category,
        "condition": condition,
        "deposit_cents": deposit_cents,
        "max_loan_days": max_loan_days,
        "location": blurred_point(owner.home),
        "title_norm": normalize(title),
    }
    item = _create_with_code(fields)
    _refresh_search(item.pk)
    item.refresh_from_db()
    return item


# Codes are drawn among about 887 million: a second draw is already rare.
CODE_DRAWS = 5


def _create_with_code(fields: dict[str, Any]) -> Item:
    """The item, with a short code no other item holds: a code drawn twice (the unique constraint
    refuses it) is drawn again, in a savepoint so that the transaction goes on."""
    draws = 1
    while True:
        try:
            with transaction.atomic():
                return Item.objects.create(**fields, code=new_item_code())
        except IntegrityError as error:
            constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
            if constraint != "sharing_item_code_unique" or draws >= CODE_DRAWS:
                raise
        draws += 1


@transaction.atomic
def item_update(*, actor: User, item_id: int, **changes: Any) -> Item:
    item = lock(Item, item_id)
    if item.owner_id != actor.pk:
        raise NotOwnerError()
    if item.status == Item.Status.HIDDEN:
        raise ForbiddenError(_("This item was hidden by the association."), code="item_hidden")
    for field, value in changes.items():
        if field not in EDITABLE:
            raise DomainError(
                code="not_editable", fields={field: [_("This field cannot be changed.")]}
            )
        setattr(item, field, value.strip() if isinstance(value, str) else value)
    item.title_norm = normalize(item.title)
    item.save()
    _refresh_search(item.pk)
    item.refresh_from_db()
    return item


def items_follow_home(*, owner: User) -> int:
    """Inside the transaction that moves a resident's home: their items (always placed at home)
    move to the new home's blur cell. A home removed leaves them where they were: they cannot be
    listed again until a home is set. Returns how many moved."""
    if owner.home is None:
        return 0
    cell = blurred_point(owner.home)
    return (
        Item.objects.filter(owner=owner)
        .exclude(location=cell)
        .update(location=cell, updated_at=timezone.now(), **snap_fields(cell))
    )


@transaction.atomic
def item_withdraw(*, actor: User, item_id: int) -> Item:
    item = lock(Item, item_id)
    if item.owner_id != actor.pk:
        raise NotOwnerError()
    if item.loans.filter(status__in=("accepted", "active", "returned", "disputed")).exists():
        raise ConflictError(
            _("This item is lent or promised: end those loans first."), code="item_in_use"
        )
    item.status = Item.Status.WITHDRAWN
    item.save(update_fields=["status", "updated_at"])
    item.loans.filter(status="requested").update(status="declined")
    return item


@transaction.atomic
def item_block(
    *, actor: User, item_id: int, starts_at: datetime, ends_at: datetime, reason: str = ""
) -> BlockedPeriod:
    item = lock(Item, item_id)
    if item.owner_id != actor.pk:
        raise NotOwnerError()
    if ends_at <= starts_at:
        raise DomainError(
            _("The end must come after the start."),
            code="invalid_period",
            fields={"ends_at": [_("The end must come after the start.")]},
        )
    period = Range(starts_at, ends_at, "[)")
    if item.loans.filter(status__in=("accepted", "active"), period__overlap=period).exists():
        raise ConflictError(_("A loan is promised in this period."), code="period_taken")
    try:
        with transaction.atomic():
            return BlockedPeriod.objects.create(item=item, period=period, reason=reason[:200])
    except IntegrityError:
        raise ConflictError(
            _("This period overlaps another blocked period."), code="period_taken"
        ) from None


class BlockedPeriodNotFoundError(NotFoundError):
    code = "blocked_period_not_found"
    default_message = _("No such blocked period.")


@transaction.atomic
def item_unblock(*, actor: User, item_id: int, block_id: int) -> None:
    """Removes one of the item's blocked periods (its owner only)."""
    item = lock(Item, item_id)
    if item.owner_id != actor.pk:
        raise NotOwnerError()
    deleted, _count = BlockedPeriod.objects.filter(pk=block_id, item=item).delete()
    if not deleted:
        raise BlockedPeriodNotFoundError()


# --- photos -----------------------------------------------------------------------------------

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def _clean_image(data: bytes) -> tuple[bytes, bytes, int, int]:
    """Decodes an upload and re-encodes it without any metadata (EXIF, GPS, XMP, comments),
    upright, resized, plus a thumbnail. Returns (JPEG image, JPEG thumbnail, width, height)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > settings.SHARING_PHOTO_MAX_BYTES:
        raise PhotoError(_("This photo is too large."), code="photo_too_large")
    Image.MAX_IMAGE_PIXELS = settings.SHARING_PHOTO_MAX_PIXELS
    try:
        probe = Image.open(io.BytesIO(data))
        if probe.format not in ALLOWED_FORMATS:
            raise PhotoError()
        probe.verify()
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoError() from None
    image = ImageOps.exif_transpose(image)
    image = image.convert("RGB")
    image.thumbnail((settings.SHARING_PHOTO_MAX_SIDE,) * 2)
    clean = Image.new("RGB", image.size)
    clean.paste(image)  # a fresh image: nothing of the upload's metadata comes along
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85, optimize=True)
    thumb = clean.copy()
    thumb.thumbnail((settings.SHARING_THUMB_SIDE,) * 2)
    tout = io.BytesIO()
    thumb.save(tout, "JPEG", quality=80)
    return out.getvalue(), tout.getvalue(), clean.width, clean.height


def item_photo_add(*, actor: User, item_id: int, data: bytes) -> ItemPhoto:
    image, thumb, width, height = _clean_image(data)  # decode before taking any lock
    with transaction.atomic():
        item = lock(Item, item_id)
        if item.owner_id != actor.pk:
            raise NotOwnerError()
        if item.photos.count() >= settings.SHARING_MAX_PHOTOS:
            raise ConflictError(
                _("This item has as many photos as it can."), code="too_many_photos"
            )
        position = (item.photos.aggregate(m=Max("position"))["m"] or 0) + 1
        photo = ItemPhoto(item=item, width=width, height=height, position=position)
        # Random names: a photo's address tells nothing and cannot be guessed from another's.
        name = uuid.uuid4().hex
        photo.image.save(f"{name}.jpg", ContentFile(image), save=False)
        photo.thumbnail.save(f"{name}-small.jpg", ContentFile(thumb), save=False)
        photo.save()
        return photo


def _files_delete(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


class PhotoNotFoundError(NotFoundError):
    code = "photo_not_found"
    default_message = _("No such photo.")


def item_photo_delete(*, actor: User, photo_id: int, item_id: int | None = None) -> None:
    """Removes a photo of the actor's item; its files go from storage once it is committed. The
    others keep their order."""
    with transaction.atomic():
        photo = ItemPhoto.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None or (item_id is not None and photo.item_id != item_id):
            raise PhotoNotFoundError()
        if photo.item.owner_id != actor.pk:
            raise NotOwnerError()
        names = [photo.image.name, photo.thumbnail.name]
        photo.delete()
        transaction.on_commit(partial(_files_delete, names))


@transaction.atomic
def item_photos_reorder(*, actor: User, item_id: int, photo_ids: list[int]) -> list[ItemPhoto]:
    """Puts the item's photos in this order (every one of them, each once): the first is the one
    lists show."""
    item = lock(Item, item_id)
    if item.owner_id != actor.pk:
        raise NotOwnerError()
    photos = {p.pk: p for p in item.photos.select_for_update()}
    if sorted(photo_ids) != sorted(photos) or len(set(photo_ids)) != len(photo_ids):
        message = _("Give every photo of the item, each once.")
        raise DomainError(message, code="invalid", fields={"order": [message]})
    for position, pk in enumerate(photo_ids, start=1):
        photos[pk].position = position
    ItemPhoto.objects.bulk_update(photos.values(), ["position"])
    return [photos[pk] for pk in photo_ids]
