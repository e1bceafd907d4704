"""Pooling API: thin views. Validate the input, call one service or selector, serialize."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import request_user
from accounts.serializers import ErrorSerializer
from backend.inputs import MalformedJsonError, json_parse
from backend.pagination import CursorPagination
from backend.parsers import FormParser, JSONParser, MultiPartParser
from backend.throttling import NearbyThrottle, PickupCodeThrottle, WebhookThrottle
from pooling import co2, selectors
from pooling.errors import BodyTooLargeError, IdempotencyKeyMissingError, MalformedBodyError
from pooling.models import Route
from pooling.serializers import (
    BatchCreateInputSerializer,
    BatchSerializer,
    Co2FactorSerializer,
    CourierRouteSerializer,
    CourierRouteSummarySerializer,
    DutyInputSerializer,
    DutyResultSerializer,
    DutySerializer,
    ImpactQuerySerializer,
    MerchantOrderInputSerializer,
    MerchantOrderOutputSerializer,
    MonthImpactSerializer,
    OrderDeclareInputSerializer,
    OrderSerializer,
    OrderUpdateInputSerializer,
    PickupInputSerializer,
    PickupResultSerializer,
    PositionInputSerializer,
    PositionResultSerializer,
    PreferenceInputSerializer,
    PreferenceSerializer,
    RelayDeliveriesSerializer,
    RelayNearbySerializer,
    RelayQuerySerializer,
    RouteStartInputSerializer,
    StopDeliveredInputSerializer,
    StopFailedInputSerializer,
    StopResultSerializer,
    weekly_as_json,
)
from pooling.services.batches import batch_request
from pooling.services.couriers import (
    courier_position_update,
    route_etag,
    route_start_record,
    stop_delivered_record,
    stop_failed_record,
)
from pooling.services.duty import courier_duty_set
from pooling.services.orders import (
    DetailsIn,
    ParcelIn,
    Receiving,
    WindowIn,
    order_cancel,
    order_declare,
    order_receive_from_merchant,
    order_receiving_update,
    receiving_preference_set,
)
from pooling.services.pickups import pickup_confirm
from pooling.webhooks import merchant_authenticate, signature_verify

ORDERS = "orders"
POOLING = "pooling"
COURIER = "courier"
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


def _receiving(data: dict[str, Any] | None, resident: User) -> Receiving | None:
    """The receiving choice of a request; without a walk_profile, the resident's own."""
    if data is None:
        return None
    return Receiving(
        mode=data["mode"],
        relay_point_id=data.get("relay_point"),
        max_walk_seconds=int(data["max_walk_minutes"]) * 60,
        walk_profile=data.get("walk_profile") or resident.walking_profile,
    )


def _details(data: dict[str, Any] | None) -> DetailsIn | None:
    return DetailsIn(**data) if data is not None else None


def _windows(items: list[dict[str, Any]] | None) -> list[WindowIn] | None:
    if items is None:
        return None
    return [WindowIn(starts_at=w["starts_at"], ends_at=w["ends_at"]) for w in items]


# --- merchants ------------------------------------------------------------------------------------


class MerchantOrderApi(APIView):
    """The merchant webhook: authenticated by API key and HMAC signature, not by a user."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookThrottle]

    @extend_schema(
        operation_id="merchant_order_announce",
        tags=["merchant"],
        summary="Announce an order (signed webhook, idempotent)",
        description=(
            "Headers: `X-Api-Key` (the merchant's key), `X-Signature: sha256=<hex>` (HMAC-SHA256 "
            "of the raw body with the merchant's signing secret) and `Idempotency-Key`. A retry "
            "with the same key and body returns the first order (200); the same key with another "
            "body is refused (422)."
        ),
        parameters=[
            OpenApiParameter("X-Api-Key", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Signature", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True),
        ],
        request=MerchantOrderInputSerializer,
        responses={
            201: MerchantOrderOutputSerializer,
            200: OpenApiResponse(MerchantOrderOutputSerializer, description="A replay."),
            400: ErrorSerializer,
            401: ErrorSerializer,
            413: ErrorSerializer,
            422: ErrorSerializer,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.POOLING_WEBHOOK_MAX_BYTES:
            raise BodyTooLargeError()
        raw = request.body
        if len(raw) > settings.POOLING_WEBHOOK_MAX_BYTES:
            raise BodyTooLargeError()
        merchant = merchant_authenticate(request.headers.get("X-Api-Key"))
        signature_verify(merchant, raw, request.headers.get("X-Signature"))
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key or len(key) > 200 or not key.isprintable():
            raise IdempotencyKeyMissingError()
        try:
            # The API's JSON rules: bounded depth, allowed characters (backend/inputs.py).
            payload = json_parse(raw)
        except MalformedJsonError:
            raise MalformedBodyError() from None
        if not isinstance(payload, dict):
            raise MalformedBodyError()
        body = MerchantOrderInputSerializer(data=payload)
        body.is_valid(raise_exception=True)
        order, created = order_receive_from_merchant(
            merchant=merchant, idempotency_key=key, raw_body=raw, payload=body.validated_data
        )
        response = Response(
            MerchantOrderOutputSerializer(order).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


# --- residents ------------------------------------------------------------------------------------


class OrderListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(operation_id="orders_list", tags=[ORDERS], responses=OrderSerializer(many=True))
    def get(self, request: Request) -> Response:
        orders = selectors.orders_of_resident(resident=request_user(request))
        paginator = CursorPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        operation_id="orders_declare",
        tags=[ORDERS],
        summary="Declare an order you expect (carrier, tracking number, expected day)",
        request=OrderDeclareInputSerializer,
        responses={201: OrderSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = OrderDeclareInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        order = order_declare(
            resident=request_user(request),
            merchant_name=data["merchant_name"],
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            expected_on=data["expected_on"],
            parcels=[ParcelIn(**p) for p in data["parcels"]],
            receiving=_receiving(data.get("receiving"), request_user(request)),
            windows=_windows(data["windows"]) or [],
            details=_details(data.get("delivery_details")),
        )
        order = selectors.order_of_resident(resident=request_user(request), order_id=order.pk)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    @extend_schema(
        operation_id="orders_get", tags=[ORDERS], responses={200: OrderSerializer, **ERRORS}
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = selectors.order_of_resident(resident=request_user(request), order_id=order_id)
        return Response(OrderSerializer(order).data)

    @extend_schema(
        operation_id="orders_update",
        tags=[ORDERS],
        summary="Choose how and when to receive it (until it leaves the hub)",
        request=OrderUpdateInputSerializer,
        responses={200: OrderSerializer, **ERRORS, 409: ErrorSerializer},
    )
    def patch(self, request: Request, order_id: int) -> Response:
        body = OrderUpdateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        order_receiving_update(
            actor=request_user(request),
            order_id=order_id,
            receiving=_receiving(data.get("receiving"), request_user(request)),
            windows=_windows(data.get("windows")),
            details=_details(data.get("delivery_details")),
        )
        order = selectors.order_of_resident(resident=request_user(request), order_id=order_id)
        return Response(OrderSerializer(order).data)


class OrderCancelApi(APIView):
    @extend_schema(
        operation_id="orders_cancel",
        tags=[ORDERS],
        request=None,
        responses={200: OrderSerializer, **ERRORS, 409: ErrorSerializer},
    )
    def post(self, request: Request, order_id: int) -> Response:
        order_cancel(actor=request_user(request), order_id=order_id)
        order = selectors.order_of_resident(resident=request_user(request), order_id=order_id)
        return Response(OrderSerializer(order).data)


class ReceivingPreferenceApi(APIView):
    @extend_schema(
        operation_id="orders_receiving_get", tags=[ORDERS], responses=PreferenceSerializer
    )
    def get(self, request: Request) -> Response:
        pref = selectors.receiving_preference_of(resident=request_user(request))
        return Response(PreferenceSerializer(pref).data)

    @extend_schema(
        operation_id="orders_receiving_set",
        tags=[ORDERS],
        summary="Your default way of receiving parcels, and when you are usually in",
        request=PreferenceInputSerializer,
        responses={200: PreferenceSerializer, **ERRORS},
    )
    def put(self, request: Request) -> Response:
        body = PreferenceInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        pref = receiving_preference_set(
            resident=request_user(request),
            receiving=_receiving(data, request_user(request)),  # type: ignore[arg-type]
            home_windows=weekly_as_json(data["home_windows"]),
            details=_details(data.get("delivery_details")),
        )
        return Response(PreferenceSerializer(pref).data)


class RelayPointsNearApi(APIView):
    throttle_classes = [NearbyThrottle]

    @extend_schema(
        operation_id="relay_points_near",
        tags=[ORDERS],
        summary="Relay points and neighbour hosts within a walking time",
        parameters=[
            OpenApiParameter("near", str, required=True, description="latitude,longitude"),
            OpenApiParameter("minutes", float, required=False),
            OpenApiParameter(
                "profile",
                str,
                enum=["walk", "slow", "wheelchair"],
                required=False,
                description="Defaults to your walking profile (walking_profile of GET /api/v1/me).",
            ),
        ],
        responses={200: RelayNearbySerializer(many=True), 400: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        query = RelayQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        lon, lat = data["near"]
        relays = selectors.relay_points_near(
            viewer=request_user(request),
            lon=lon,
            lat=lat,
            seconds=data["minutes"] * 60,
            profile=data.get("profile"),
        )
        return Response(RelayNearbySerializer(relays, many=True).data)


class RelayDeliveriesApi(APIView):
    @extend_schema(
        operation_id="relay_points_deliveries",
        tags=[ORDERS],
        summary="Deliveries to come at a relay point you operate, with the handover code",
        responses={200: RelayDeliveriesSerializer, **ERRORS},
    )
    def get(self, request: Request, relay_point_id: int) -> Response:
        relay, stops, waiting = selectors.relay_deliveries(
            actor=request_user(request), relay_point_id=relay_point_id
        )
        body = {
            "relay_point": relay,
            "handover_code": relay.handover_code,
            "deliveries": stops,
            "awaiting_pickup": waiting,
        }
        return Response(RelayDeliveriesSerializer(body).data)


class RelayPickupApi(APIView):
    throttle_classes = [PickupCodeThrottle]

    @extend_schema(
        operation_id="relay_points_pickup",
        tags=[ORDERS],
        summary="Hand a parcel over to its resident, who shows their pickup code (operator)",
        description=(
            "Only the operator of the relay point (the shop's account, the neighbour host). A "
            "wrong code is 400 `bad_pickup_code`; tries are limited per operator and order (the "
            "`pickup_code` rate, 429). The order is then delivered and its resident told "
            "(`order.delivered`, proof `pickup_code`); sent again, it answers `applied: false`."
        ),
        request=PickupInputSerializer,
        responses={200: PickupResultSerializer, **ERRORS, 409: ErrorSerializer},
    )
    def post(self, request: Request, relay_point_id: int) -> Response:
        body = PickupInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = pickup_confirm(
            actor=request_user(request),
            relay_point_id=relay_point_id,
            order_id=data["order"],
            code=data["code"],
            client_at=data.get("client_at"),
        )
        return Response(
            PickupResultSerializer(outcome.order, context={"applied": outcome.applied}).data
        )


# --- association staff ------------------------------------------------------------------------------


class BatchCreateApi(APIView):
    @extend_schema(
        operation_id="pooling_batch_create",
        tags=[POOLING],
        summary="Plan a neighbourhood's deliveries for a day (association staff)",
        description="Planning runs in the background: poll the batch for its progress.",
        request=BatchCreateInputSerializer,
        responses={202: BatchSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = BatchCreateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        batch, _created = batch_request(
            actor=request_user(request),
            neighbourhood_id=data["neighbourhood"],
            day=data.get("day") or timezone.localdate(),
        )
        batch = selectors.batch_for_staff(actor=request_user(request), batch_id=batch.pk)
        return Response(BatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class BatchDetailApi(APIView):
    @extend_schema(
        operation_id="pooling_batch_get",
        tags=[POOLING],
        summary="A batch: progress, rounds and impact (association staff)",
        responses={200: BatchSerializer, **ERRORS},
    )
    def get(self, request: Request, batch_id: int) -> Response:
        batch = selectors.batch_for_staff(actor=request_user(request), batch_id=batch_id)
        return Response(BatchSerializer(batch).data)


class ImpactByMonthApi(APIView):
    @extend_schema(
        operation_id="pooling_impact_by_month",
        tags=[POOLING],
        summary="Km, rounds and CO2 of a neighbourhood's batches, per month (association staff)",
        parameters=[
            OpenApiParameter("neighbourhood", int, required=True),
            OpenApiParameter("since", str, required=False, description="YYYY-MM-DD"),
            OpenApiParameter("until", str, required=False, description="YYYY-MM-DD"),
        ],
        responses={200: MonthImpactSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = ImpactQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = selectors.impact_by_month(
            actor=request_user(request),
            neighbourhood_id=data["neighbourhood"],
            since=data.get("since"),
            until=data.get("until"),
        )
        return Response(MonthImpactSerializer(rows, many=True).data)


# --- couriers -------------------------------------------------------------------------------------


class CourierRouteListApi(APIView):
    @extend_schema(
        operation_id="courier_routes_list",
        tags=[COURIER],
        responses={200: CourierRouteSummarySerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        routes = selectors.routes_of_courier(
            actor=request_user(request),
            since=timezone.localdate() - timedelta(days=1),
        )
        return Response(CourierRouteSummarySerializer(routes, many=True).data)


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The round's ETag: the action is refused (412 route_changed) if the round "
    "changed since. Leave it out when replaying an offline queue.",
)


class CourierRouteDetailApi(APIView):
    @extend_schema(
        operation_id="courier_routes_get",
        tags=[COURIER],
        summary="A round: ordered stops with their parcels, place, ETA and path",
        description=(
            "Answers a strong `ETag` (the round's version: every change moves it); with "
            "`If-None-Match` of the current one, 304 without a body. A home stop's `details` "
            "(door code, floor, building, instructions, phone) are given only while the round "
            "is started."
        ),
        parameters=[
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False)
        ],
        responses={
            200: CourierRouteSerializer,
            304: OpenApiResponse(description="Not modified."),
            **ERRORS,
        },
    )
    def get(self, request: Request, route_id: int) -> Response:
        route = selectors.route_for_courier(actor=request_user(request), route_id=route_id)
        etag = route_etag(route)
        seen = {tag.strip() for tag in (request.headers.get("If-None-Match") or "").split(",")}
        if etag in seen or "*" in seen:
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        else:
            response = Response(CourierRouteSerializer(route).data)
        response["ETag"] = etag
        return response


def _with_etag(response: Response, route_id: int) -> Response:
    version = Route.objects.filter(pk=route_id).values_list("version", flat=True).first()
    if version is not None:
        response["ETag"] = f'"route-{route_id}-v{version}"'
    return response


class CourierRouteStartApi(APIView):
    @extend_schema(
        operation_id="courier_routes_start",
        tags=[COURIER],
        description=(
            'Optional body `{"client_at": ...}`: the time the courier left the hub by their '
            "clock (an offline queue). A round already started answers 409 without client_at, "
            "and with it 200 (`applied` says whether its start moved earlier)."
        ),
        parameters=[IF_MATCH],
        request=RouteStartInputSerializer,
        responses={
            200: CourierRouteSerializer,
            **ERRORS,
            409: ErrorSerializer,
            412: ErrorSerializer,
        },
    )
    def post(self, request: Request, route_id: int) -> Response:
        body = RouteStartInputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        outcome = route_start_record(
            actor=request_user(request),
            route_id=route_id,
            client_at=body.validated_data.get("client_at"),
            if_match=request.headers.get("If-Match"),
        )
        route = selectors.route_for_courier(actor=request_user(request), route_id=route_id)
        data = dict(CourierRouteSerializer(route).data)
        data["applied"] = outcome.applied
        return _with_etag(Response(data), route_id)


OFFLINE = (
    "With `client_at` (the courier's clock; an action queued offline), the action is applied "
    "at that time whatever order the queue arrives in: older than the stop's last action, it "
    "answers 200 with `applied: false` and changes nothing; newer than a done stop's, it "
    "corrects it; on a round not started yet, it starts the round at that time. Send each "
    "action with its own `Idempotency-Key`: sent twice, it acts once."
)


class StopDeliveredApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="courier_stop_delivered",
        tags=[COURIER],
        summary="Mark a stop delivered, with the recipient's code, a photo or a signature",
        description=(
            "At a relay point or a neighbour host's, the parcels then wait for their residents "
            "(`awaiting_pickup`). " + OFFLINE
        ),
        parameters=[IF_MATCH],
        request={
            "application/json": StopDeliveredInputSerializer,
            "multipart/form-data": StopDeliveredInputSerializer,
        },
        responses={200: StopResultSerializer, **ERRORS, 409: ErrorSerializer, 412: ErrorSerializer},
    )
    def post(self, request: Request, route_id: int, stop_id: int) -> Response:
        body = StopDeliveredInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = stop_delivered_record(
            actor=request_user(request),
            route_id=route_id,
            stop_id=stop_id,
            code=data.get("code"),
            photo=data.get("photo"),
            signature=data.get("signature"),
            notes=data["notes"],
            client_at=data.get("client_at"),
            if_match=request.headers.get("If-Match"),
        )
        result = StopResultSerializer(outcome.stop, context={"applied": outcome.applied})
        return _with_etag(Response(result.data), route_id)


class StopFailedApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="courier_stop_failed",
        tags=[COURIER],
        summary="Mark a stop failed: its parcels go back to the pool",
        description=OFFLINE,
        parameters=[IF_MATCH],
        request={
            "application/json": StopFailedInputSerializer,
            "multipart/form-data": StopFailedInputSerializer,
        },
        responses={200: StopResultSerializer, **ERRORS, 409: ErrorSerializer, 412: ErrorSerializer},
    )
    def post(self, request: Request, route_id: int, stop_id: int) -> Response:
        body = StopFailedInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = stop_failed_record(
            actor=request_user(request),
            route_id=route_id,
            stop_id=stop_id,
            reason=data["reason"],
            photo=data.get("photo"),
            notes=data["notes"],
            client_at=data.get("client_at"),
            if_match=request.headers.get("If-Match"),
        )
        result = StopResultSerializer(outcome.stop, context={"applied": outcome.applied})
        return _with_etag(Response(result.data), route_id)


class CourierPositionApi(APIView):
    @extend_schema(
        operation_id="courier_position",
        tags=[COURIER],
        summary="Send the courier's position (until it travels on the websocket)",
        description=(
            "Only on duty (409 `courier_off_duty`). `at` (or `client_at`) is when it was "
            "measured: a position older than the latest kept answers `applied: false`."
        ),
        request=PositionInputSerializer,
        responses={200: PositionResultSerializer, **ERRORS, 409: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        body = PositionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        lon, lat = data["position"]
        result = courier_position_update(
            courier=request_user(request),
            lon=lon,
            lat=lat,
            at=data.get("client_at") or data.get("at"),
        )
        return Response(PositionResultSerializer(result).data)


class Co2FactorsApi(APIView):
    @extend_schema(
        operation_id="pooling_co2_factors",
        tags=[POOLING],
        summary="The CO2 factors the impact uses: per mode, central, low and high, with sources",
        description="kg CO2e per vehicle-km, each value with its source (ADEME Base Empreinte "
        "element, Impact CO2 data or legal text), scope and year; docs/pooling.md, CO2 factors.",
        responses={200: Co2FactorSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(Co2FactorSerializer(co2.factors_public(), many=True).data)


class CourierDutyApi(APIView):
    @extend_schema(
        operation_id="courier_duty_get",
        tags=[COURIER],
        summary="Whether you are on duty, and since when",
        responses={200: DutySerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(DutySerializer(selectors.courier_of(request_user(request))).data)

    @extend_schema(
        operation_id="courier_duty_set",
        tags=[COURIER],
        summary="Go on or off duty",
        description=(
            "Positions are taken only on duty; starting a round puts you on duty. With "
            "`client_at`, changes sent late are applied in the order of your clock."
        ),
        request=DutyInputSerializer,
        responses={200: DutyResultSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = DutyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = courier_duty_set(
            actor=request_user(request),
            on_duty=data["on_duty"],
            client_at=data.get("client_at"),
        )
        courier = outcome.courier
        return Response(
            {**DutySerializer(courier).data, "applied": outcome.applied},
        )
