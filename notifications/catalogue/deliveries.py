"""Events of pooled deliveries: orders, relay points and couriers' rounds."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from notifications.catalogue.types import (
    INT,
    ORDER_SUBJECT,
    RELAY_POINT_SUBJECT,
    ROUTE_SUBJECT,
    STR,
    TIME,
    EventType,
    Push,
)

DELIVERIES: tuple[EventType, ...] = (
    EventType(
        name="order.planned",
        subject=ORDER_SUBJECT,
        description="Your order is in a planned delivery batch, with its time window.",
        fields={
            "order_id": INT,
            "merchant_name": STR,
            "window_start": TIME,
            "window_end": TIME,
            "delivery_mode": STR,
        },
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "window_start": "2026-05-16T17:00:00+02:00",
            "window_end": "2026-05-16T19:00:00+02:00",
            "delivery_mode": "relay",
        },
        preference="order_update",
        title=_("Delivery planned"),
        body=_("Your order from %(merchant_name)s is planned for delivery."),
    ),
    EventType(
        name="order.eta",
        subject=ORDER_SUBJECT,
        description="A new estimated arrival time for your order (live only: never pushed).",
        fields={"order_id": INT, "route_id": INT, "eta": TIME, "minutes": INT},
        example={
            "order_id": 733,
            "route_id": 61,
            "eta": "2026-05-16T17:42:00+02:00",
            "minutes": 25,
        },
        push=Push.NEVER,
        preference="order_update",
    ),
    EventType(
        name="order.courier_nearby",
        subject=ORDER_SUBJECT,
        description="The courier is a few minutes away from your delivery place.",
        fields={"order_id": INT, "route_id": INT, "minutes_away": INT},
        example={"order_id": 733, "route_id": 61, "minutes_away": 5},
        urgent=True,
        preference="delivery_update",
        title=_("Courier nearby"),
        body=_("Your courier is about %(minutes_away)s min away."),
        push_ttl=timedelta(minutes=15),
    ),
    EventType(
        name="order.delivered",
        subject=ORDER_SUBJECT,
        description="Your order was delivered (place: home, relay or neighbour; proof: photo, "
        "code, pickup_code, or resident when the resident confirmed having it in hand).",
        fields={
            "order_id": INT,
            "merchant_name": STR,
            "delivered_at": TIME,
            "place": STR,
            "proof": STR,
        },
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "delivered_at": "2026-05-16T17:44:10+02:00",
            "place": "relay",
            "proof": "code",
        },
        preference="delivery_update",
        title=_("Order delivered"),
        body=_("Your order from %(merchant_name)s has been delivered."),
        # By mail only when the parcel waits somewhere for the resident.
        email=True,
        email_only_if={"place": ("relay", "host")},
    ),
    EventType(
        name="order.awaiting_pickup",
        subject=ORDER_SUBJECT,
        description="Your parcel was left at a relay point or a neighbour host's (place: relay "
        "or host) and waits for you there: show the pickup code of your order (GET "
        "/api/v1/orders/{id}, pickup_code) to take it. The order is delivered once you have.",
        fields={
            "order_id": INT,
            "merchant_name": STR,
            "relay_point_id": INT,
            "relay_name": STR,
            "place": STR,
            "arrived_at": TIME,
        },
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "relay_point_id": 4,
            "relay_name": "Épicerie Rue Vieille-du-Temple",
            "place": "relay",
            "arrived_at": "2026-05-16T15:20:00+02:00",
        },
        preference="delivery_update",
        title=_("Parcel waiting for you"),
        body=_("Your order from %(merchant_name)s waits for you at %(relay_name)s."),
        email=True,
    ),
    EventType(
        name="order.failed",
        subject=ORDER_SUBJECT,
        description="The delivery failed; next_step says what happens (retry, relay, return).",
        fields={"order_id": INT, "merchant_name": STR, "reason": STR, "next_step": STR},
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "reason": "absent",
            "next_step": "relay",
        },
        preference="delivery_update",
        title=_("Delivery failed"),
        body=_("Your order from %(merchant_name)s could not be delivered."),
    ),
    EventType(
        name="order.unplanned",
        subject=ORDER_SUBJECT,
        description="The order is not in the planned rounds (any more): it waits for the next "
        "batch. reason: no_drop_within_walking_limit (no relay point or host within the walk "
        "you accept), not_in_during_shifts (your windows miss the couriers' hours), "
        "relay_full (the relays you accept are full that day), window_too_short (your window "
        "is shorter than the delivery), no_route (the couriers cannot reach the place), "
        "capacity (larger or heavier than any courier can carry), window (no courier can reach "
        "you within your windows), fleet_full (the couriers' day is full: the oldest orders go "
        "first), no_home, not_planned.",
        fields={"order_id": INT, "merchant_name": STR, "reason": STR},
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "reason": "no_drop_within_walking_limit",
        },
        preference="delivery_update",
        title=_("Delivery not planned yet"),
        body=_(
            "Your order from %(merchant_name)s is not in today's rounds; it waits for the next."
        ),
    ),
    EventType(
        name="relay.parcels_to_receive",
        subject=RELAY_POINT_SUBJECT,
        description="Parcels of a planned batch will arrive at the relay point you host.",
        fields={
            "relay_point_id": INT,
            "relay_name": STR,
            "batch_id": INT,
            "parcels": INT,
            "window_start": TIME,
            "window_end": TIME,
        },
        example={
            "relay_point_id": 4,
            "relay_name": "Épicerie Rue Vieille-du-Temple",
            "batch_id": 88,
            "parcels": 7,
            "window_start": "2026-05-16T15:00:00+02:00",
            "window_end": "2026-05-16T16:00:00+02:00",
        },
        preference="delivery_update",
        title=_("Parcels to receive"),
        body=_("%(parcels)s parcel(s) will arrive at %(relay_name)s."),
    ),
    EventType(
        name="route.stop_added",
        subject=ROUTE_SUBJECT,
        description="A stop was added to the courier's route (sent to the courier).",
        fields={
            "route_id": INT,
            "stop_id": INT,
            "position": INT,
            "address_label": STR,
            "eta": TIME,
        },
        example={
            "route_id": 61,
            "stop_id": 903,
            "position": 4,
            "address_label": "12 rue des Rosiers",
            "eta": "2026-05-16T17:20:00+02:00",
        },
        urgent=True,
        title=_("Stop added"),
        body=_("A stop was added to your route: %(address_label)s."),
        push_ttl=timedelta(hours=2),
    ),
    EventType(
        name="route.updated",
        subject=ROUTE_SUBJECT,
        description="The courier's route changed (order of stops, ETAs): fetch it again.",
        fields={"route_id": INT, "version": INT, "stops": INT},
        example={"route_id": 61, "version": 3, "stops": 9},
        title=_("Route updated"),
        body=_("Your route now has %(stops)s stops."),
        push_ttl=timedelta(hours=2),
    ),
    EventType(
        name="route.order_cancelled",
        subject=ROUTE_SUBJECT,
        description="An order on the courier's route was cancelled (by its resident before the "
        "round started, or because they deleted their account): skip its drop. When the stop has "
        "nothing left to deliver, route.stop_cancelled follows.",
        fields={"route_id": INT, "stop_id": INT, "order_id": INT},
        example={"route_id": 61, "stop_id": 903, "order_id": 733},
        urgent=True,
        title=_("Order cancelled"),
        body=_("An order on your route was cancelled: skip its drop."),
        push_ttl=timedelta(hours=2),
    ),
    EventType(
        name="route.stop_cancelled",
        subject=ROUTE_SUBJECT,
        description="A stop is off the courier's route: its last order was cancelled (reason: "
        "cancelled, account_deleted) or a re-plan took the place off this round (replanned; the "
        "stop_id is then the one of the route's previous version). Fetch the route again.",
        fields={"route_id": INT, "stop_id": INT, "position": INT, "reason": STR},
        example={"route_id": 61, "stop_id": 903, "position": 4, "reason": "cancelled"},
        urgent=True,
        title=_("Stop cancelled"),
        body=_("A stop was taken off your route."),
        push_ttl=timedelta(hours=2),
    ),
    EventType(
        name="route.cancelled",
        subject=ROUTE_SUBJECT,
        description="A re-plan removed this route of the courier's (its stops went to other "
        "rounds): drop it.",
        fields={"route_id": INT, "batch_id": INT},
        example={"route_id": 61, "batch_id": 88},
        title=_("Route cancelled"),
        body=_("One of your routes was cancelled by a new plan."),
        push_ttl=timedelta(hours=2),
    ),
)
