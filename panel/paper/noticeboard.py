"""The noticeboard's sheet: the items that can be borrowed within some minutes' walk of a place of
the neighbourhood (the library, the town hall), by category, each with its owner's name, a coarse
walking time and its short code with a QR code of ``/i/<code>`` (sharing/codes.py).

No home is on it: an item's place is its owner's blur cell (``geo.privacy``), its time counted to
that cell in whole minutes with the same floor as the app; the owner is named by their public
name. ``noticeboard_sheet`` gathers what it says, ``noticeboard_pdf`` prints it; both are used by
the panel's page (panel/sheets.py) and can be called on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from geo.privacy import coarse_minutes
from neighbourhoods.models import Neighbourhood
from panel.paper.layout import (
    Page,
    Styles,
    build_pdf,
    paper_fonts,
    paper_styles,
    paragraph,
    qr_code,
)
from sharing.selectors_paper import noticeboard_items
from sharing.taxonomy import CATEGORIES

QR_SIZE = 28 * mm
COLUMNS = (32 * mm, 98 * mm, 44 * mm)  # QR code, the item, its code: 174 mm between margins


@dataclass(frozen=True)
class NoticeboardLine:
    code: str
    title: str
    category: str
    owner_name: str
    minutes: int
    under_floor: bool  # "3 min or less": closer than the floor of walking times


@dataclass(frozen=True)
class Noticeboard:
    association: str
    neighbourhood: str
    place_name: str
    place_address: str
    minutes: int
    profile: str
    lines: list[NoticeboardLine]
    left_out: int  # items further away than the last one listed (PAPER_NOTICEBOARD_MAX_ITEMS)
    printed_on: date


def item_code_url(code: str) -> str:
    """What an item's QR code holds: the page of its code on this service."""
    return settings.PUBLIC_BASE_URL + reverse("item-code-page", args=[code])


def noticeboard_sheet(
    *,
    neighbourhood: Neighbourhood,
    origin: Point,
    place_name: str,
    place_address: str,
    minutes: int,
    profile: str,
    printed_on: date | None = None,
) -> Noticeboard:
    """What the sheet says: the neighbourhood's items within ``minutes`` of ``origin`` for
    ``profile``, the nearest first, at most ``PAPER_NOTICEBOARD_MAX_ITEMS``."""
    items = noticeboard_items(
        neighbourhood_id=neighbourhood.pk, origin=origin, minutes=minutes, profile=profile
    )
    cap = int(settings.PAPER_NOTICEBOARD_MAX_ITEMS)
    lines = []
    for item in items[:cap]:
        shown, under_floor = coarse_minutes(item.travel_seconds)  # type: ignore[attr-defined]
        lines.append(
            NoticeboardLine(
                code=item.code,
                title=item.title,
                category=item.category,
                owner_name=item.owner.public_name,
                minutes=shown,
                under_floor=under_floor,
            )
        )
    return Noticeboard(
        association=neighbourhood.association.name,
        neighbourhood=neighbourhood.name,
        place_name=place_name,
        place_address=place_address,
        minutes=minutes,
        profile=profile,
        lines=lines,
        left_out=max(0, len(items) - cap),
        printed_on=printed_on or timezone.localdate(),
    )


def _how(profile: str) -> str:
    return {
        "slow": _("walking slowly"),
        "wheelchair": _("in a wheelchair"),
    }.get(profile, _("on foot"))


def printed_label(day: date) -> str:
    return _("Printed on %(date)s") % {"date": formats.date_format(day, "DATE_FORMAT")}


def page_label(number: int, total: int) -> str:
    return _("Page %(number)d / %(total)d") % {"number": number, "total": total}


def noticeboard_pdf(sheet: Noticeboard) -> bytes:
    """The sheet as an A4 PDF, in the active language."""
    fonts = paper_fonts()
    styles = paper_styles(fonts)
    text = fonts.text
    title = ngettext(
        "Items to borrow within %(minutes)d minute %(how)s",
        "Items to borrow within %(minutes)d minutes %(how)s",
        sheet.minutes,
    ) % {"minutes": sheet.minutes, "how": _how(sheet.profile)}
    story: list[Flowable] = [
        paragraph(text(sheet.association), styles.strong),
        Spacer(1, 3 * mm),
        paragraph(text(title), styles.title),
        paragraph(text(_("From: %(place)s") % {"place": sheet.place_name}), styles.subtitle),
    ]
    if sheet.place_address and sheet.place_address != sheet.place_name:
        story.append(paragraph(text(sheet.place_address), styles.body))
    story.append(
        paragraph(
            text(
                ngettext("Neighbourhood: %(names)s", "Neighbourhoods: %(names)s", 1)
                % {"names": sheet.neighbourhood}
            ),
            styles.body,
        )
    )
    story += [
        Spacer(1, 3 * mm),
        paragraph(
            text(
                _(
                    "To borrow an item: scan its QR code with the Voisinage app, or type its "
                    "code in the app. No app? Give the code to the association."
                )
            ),
            styles.body,
        ),
        Spacer(1, 2 * mm),
    ]
    if not sheet.lines:
        story.append(
            paragraph(
                text(_("No item can be borrowed within these minutes for now.")), styles.heading
            )
        )
    by_category: dict[str, list[NoticeboardLine]] = {}
    for line in sheet.lines:
        by_category.setdefault(line.category, []).append(line)
    for key, label in CATEGORIES.items():
        lines = by_category.get(key)
        if not lines:
            continue
        heading = paragraph(text(label), styles.heading)
        heading.keepWithNext = True
        story.append(heading)
        story += [_line_table(line, styles, text) for line in lines]
    story.append(Spacer(1, 4 * mm))
    count = len(sheet.lines)
    story.append(
        paragraph(
            text(ngettext("%(count)d item", "%(count)d items", count) % {"count": count}),
            styles.strong,
        )
    )
    if sheet.left_out:
        story.append(
            paragraph(
                text(
                    ngettext(
                        "…and %(count)d more, further away: ask the association.",
                        "…and %(count)d more, further away: ask the association.",
                        sheet.left_out,
                    )
                    % {"count": sheet.left_out}
                ),
                styles.body,
            )
        )
    return build_pdf(
        story,
        title=title,
        author=sheet.association,
        page=Page(sheet.association, printed_label(sheet.printed_on), page_label),
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


def _minutes_label(line: NoticeboardLine) -> str:
    if line.under_floor:
        return _("%(minutes)d min or less") % {"minutes": line.minutes}
    return _("%(minutes)d min") % {"minutes": line.minutes}


def _line_table(line: NoticeboardLine, styles: Styles, text: Callable[[object], str]) -> Table:
    """One item: its QR code, its title, owner and time, its code (a table of one row, so that
    a category's heading stays with its first item and a page ends between two items)."""
    about = [
        paragraph(text(line.title), styles.strong),
        paragraph(
            text(
                _("Lent by %(name)s — %(minutes)s")
                % {"name": line.owner_name, "minutes": _minutes_label(line)}
            ),
            styles.body,
        ),
    ]
    code = [
        paragraph(text(_("Code")), styles.body),
        paragraph(text(line.code), styles.code),
    ]
    table = Table(
        [[qr_code(item_code_url(line.code), QR_SIZE), about, code]],
        colWidths=COLUMNS,
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1, "black"),
                ("LINEBEFORE", (2, 0), (2, 0), 0.75, "black"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (0, 0), 2),
            ]
        )
    )
    return table
