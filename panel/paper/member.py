"""A member's own sheet, printed for them by the association: the objects they borrow and lend
(with the other person's name, the dates and when to give back), and the parcels on their way or
waiting for them, with where to pick them up and the code to give there.

Where a parcel waits is said as the member's app says it, with one difference for a neighbour
host: the host's public name only, never the address (the host's home; a relay point's public
address is printed). ``member_sheet`` gathers what it says, ``member_sheet_pdf`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, HRFlowable, KeepTogether, Spacer

from accounts.models import User
from neighbourhoods.models import Membership
from neighbourhoods.selectors import Scope
from panel.paper.layout import Page, build_pdf, paper_fonts, paper_styles, paragraph
from panel.paper.noticeboard import page_label, printed_label
from pooling.models import DropKind, Order, ReceiveMode, RelayPoint
from pooling.selectors import orders_under_way
from sharing.models import Loan
from sharing.selectors_paper import loans_under_way

# A loan in these statuses is in the borrower's hands, or about to be: its end is a date to keep.
LOANS_TO_GIVE_BACK = (Loan.Status.ACCEPTED, Loan.Status.ACTIVE)


@dataclass(frozen=True)
class LoanLine:
    title: str
    other_name: str  # the lender for a borrowing, the borrower for a lending
    starts_at: datetime
    ends_at: datetime
    status: str
    status_label: str


@dataclass(frozen=True)
class ParcelLine:
    merchant: str
    carrier: str
    tracking_number: str
    expected_on: date
    parcels: int
    status: str
    status_label: str
    where: str
    where_details: list[str]  # a relay's public address, opening hours
    pickup_code: str | None  # while it waits at a relay point or a host's


@dataclass(frozen=True)
class MemberSheet:
    association: str
    neighbourhoods: list[str]
    member_name: str
    borrowing: list[LoanLine]
    lending: list[LoanLine]
    parcels: list[ParcelLine]
    printed_on: date


def member_sheet(*, member: User, scope: Scope, printed_on: date | None = None) -> MemberSheet:
    """What ``member``'s sheet says, for a volunteer whose scope is ``scope`` (the association
    and neighbourhoods named are those of the scope the member belongs to)."""
    memberships = Membership.objects.filter(user=member).select_related(
        "neighbourhood__association"
    )
    if scope is not None:
        memberships = memberships.filter(neighbourhood_id__in=scope)
    ordered = sorted(memberships, key=lambda m: (m.neighbourhood.association.name, m.pk))
    associations = list(dict.fromkeys(m.neighbourhood.association.name for m in ordered))
    borrowing: list[LoanLine] = []
    lending: list[LoanLine] = []
    for loan in loans_under_way(member):
        line = LoanLine(
            title=loan.item.title,
            other_name=(
                loan.lender if loan.borrower_id == member.pk else loan.borrower
            ).public_name,
            starts_at=loan.period.lower,
            ends_at=loan.period.upper,
            status=loan.status,
            status_label=str(loan.get_status_display()),
        )
        (borrowing if loan.borrower_id == member.pk else lending).append(line)
    return MemberSheet(
        association=", ".join(associations) or "Voisinage",
        neighbourhoods=[m.neighbourhood.name for m in ordered],
        member_name=member.public_name,
        borrowing=borrowing,
        lending=lending,
        parcels=[_parcel_line(order) for order in orders_under_way(resident=member)],
        printed_on=printed_on or timezone.localdate(),
    )


def _hours(relay: RelayPoint) -> str:
    return _("Open from %(opens)s to %(closes)s") % {
        "opens": formats.time_format(relay.opens_at, "H:i"),
        "closes": formats.time_format(relay.closes_at, "H:i"),
    }


def _at_relay(relay: RelayPoint) -> tuple[str, list[str]]:
    if relay.kind == RelayPoint.Kind.NEIGHBOUR_HOST:
        # A host's relay point is their home: their public name, no address.
        host = relay.operator.public_name if relay.operator is not None else relay.name
        return _("at %(name)s's, a neighbour host") % {"name": host}, [_hours(relay)]
    details = [relay.address_label] if relay.address_label else []
    return relay.name, [*details, _hours(relay)]


def _where(order: Order) -> tuple[str, list[str]]:
    active = getattr(order, "active", None) or []
    planned = active[0] if active and active[0].drop_kind else None
    if planned is not None:
        if planned.drop_kind == DropKind.HOME or planned.relay_point is None:
            return _("at home"), []
        return _at_relay(planned.relay_point)
    if order.receive_mode == ReceiveMode.HOME:
        return _("at home"), []
    if order.relay_point is not None and order.receive_mode in (
        ReceiveMode.RELAY,
        ReceiveMode.HOST,
    ):
        return _at_relay(order.relay_point)
    if order.receive_mode == ReceiveMode.RELAY:
        return _("at a relay point, chosen when the round is planned"), []
    if order.receive_mode == ReceiveMode.HOST:
        return _("at a neighbour host's, chosen when the round is planned"), []
    return _(
        "at home, at a relay point or at a neighbour host's: chosen when the round is planned"
    ), []


def _parcel_line(order: Order) -> ParcelLine:
    where, details = _where(order)
    waiting = order.status == Order.Status.AWAITING_PICKUP
    return ParcelLine(
        merchant=order.merchant_name,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        expected_on=order.expected_on,
        parcels=len(order.parcels.all()),
        status=order.status,
        status_label=str(order.get_status_display()),
        where=where,
        where_details=details,
        pickup_code=order.pickup_code if waiting and order.pickup_code else None,
    )


def _day(value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return formats.date_format(value, "DATE_FORMAT")


def _moment(value: datetime) -> str:
    local = timezone.localtime(value)
    if local.time() == time(0, 0):
        return _day(local)
    return _("%(date)s at %(time)s") % {
        "date": _day(local),
        "time": formats.time_format(local.time(), "H:i"),
    }


def member_sheet_pdf(sheet: MemberSheet) -> bytes:
    """The sheet as an A4 PDF, in the active language."""
    fonts = paper_fonts()
    styles = paper_styles(fonts)
    text = fonts.text
    title = _("Sheet of %(name)s") % {"name": sheet.member_name}
    story: list[Flowable] = [
        paragraph(text(sheet.association), styles.strong),
        Spacer(1, 3 * mm),
        paragraph(text(title), styles.title),
    ]
    if sheet.neighbourhoods:
        story.append(
            paragraph(
                text(
                    ngettext(
                        "Neighbourhood: %(names)s",
                        "Neighbourhoods: %(names)s",
                        len(sheet.neighbourhoods),
                    )
                    % {"names": ", ".join(sheet.neighbourhoods)}
                ),
                styles.subtitle,
            )
        )

    def rule() -> HRFlowable:
        return HRFlowable(width="100%", thickness=1, color="black", spaceBefore=4, spaceAfter=6)

    def loans(heading: str, lines: list[LoanLine], who: str, back: str) -> None:
        story.append(CondPageBreak(40 * mm))
        story.append(paragraph(text(heading), styles.heading))
        if not lines:
            story.append(paragraph(text(_("None.")), styles.body))
            return
        for line in lines:
            block = [
                paragraph(text(line.title), styles.strong),
                paragraph(text(who % {"name": line.other_name}), styles.body),
                paragraph(
                    text(
                        _("From %(start)s to %(end)s")
                        % {"start": _moment(line.starts_at), "end": _moment(line.ends_at)}
                    ),
                    styles.body,
                ),
            ]
            if line.status in LOANS_TO_GIVE_BACK:
                block.append(paragraph(text(back % {"date": _moment(line.ends_at)}), styles.strong))
            block += [
                paragraph(
                    text(_("Status: %(status)s") % {"status": line.status_label}), styles.body
                ),
                rule(),
            ]
            story.append(KeepTogether(block))

    loans(
        _("What you borrow"), sheet.borrowing, _("Lent by %(name)s"), _("To give back by %(date)s")
    )
    loans(_("What you lend"), sheet.lending, _("Borrowed by %(name)s"), _("Back by %(date)s"))

    story.append(CondPageBreak(40 * mm))
    story.append(paragraph(text(_("Your parcels")), styles.heading))
    if not sheet.parcels:
        story.append(paragraph(text(_("None.")), styles.body))
    for parcel in sheet.parcels:
        count = ngettext("%(count)d parcel", "%(count)d parcels", parcel.parcels) % {
            "count": parcel.parcels
        }
        block = [
            paragraph(text(f"{parcel.merchant} — {count}"), styles.strong),
            paragraph(
                text(_("Expected on %(date)s") % {"date": _day(parcel.expected_on)}), styles.body
            ),
        ]
        if parcel.carrier or parcel.tracking_number:
            block.append(
                paragraph(
                    text(
                        _("Carrier: %(carrier)s, tracking number %(number)s")
                        % {"carrier": parcel.carrier, "number": parcel.tracking_number or "—"}
                    ),
                    styles.body,
                )
            )
        block.append(
            paragraph(text(_("Where: %(place)s") % {"place": parcel.where}), styles.strong)
        )
        block += [paragraph(text(detail), styles.body) for detail in parcel.where_details]
        if parcel.pickup_code:
            block += [
                paragraph(text(_("Code to give to pick it up:")), styles.body),
                paragraph(text(parcel.pickup_code), styles.code),
            ]
        block += [
            paragraph(text(_("Status: %(status)s") % {"status": parcel.status_label}), styles.body),
            rule(),
        ]
        story.append(KeepTogether(block))

    return build_pdf(
        story,
        title=title,
        author=sheet.association,
        page=Page(sheet.association, printed_label(sheet.printed_on), page_label),
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
