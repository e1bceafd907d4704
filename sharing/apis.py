"""Sharing API: thin views that validate, call one service or selector, and serialize."""

from __future__ import annotations

from typing import Any

from django.contrib.gis.geos import Point
from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from backend.errors import DomainError, NotFoundError
from backend.pagination import CursorPagination
from backend.parsers import FormParser, JSONParser, MultiPartParser
from backend.throttling import ItemCodeThrottle, NearbyThrottle
from sharing import apis_calendar, selectors
from sharing.codes import item_code_read
from sharing.models import Item, Loan
from sharing.serializers import (
    BlockSerializer,
    CategorySerializer,
    ItemInSerializer,
    ItemPatchSerializer,
    ItemSerializer,
    LoanActionJSONSerializer,
    LoanActionSerializer,
    LoanRequestSerializer,
    LoanSerializer,
    NearbyItemSerializer,
    NearbyQuerySerializer,
    NeighbourItemSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
)
from sharing.services import items as item_services
from sharing.services import loans as loan_services
from sharing.taxonomy import CATEGORIES


class CategoryListApi(APIView):
    @extend_schema(operation_id="item_categories", responses=CategorySerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([{"key": k, "label": str(v)} for k, v in CATEGORIES.items()])


def _my_items(user: Any) -> QuerySet[Item]:
    return Item.objects.filter(owner=user).prefetch_related("photos").order_by("-created_at")


class ItemListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(operation_id="items_mine", responses=ItemSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(_my_items(request_user(request)), request, view=self)
        return paginator.get_paginated_response(
            ItemSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="item_create", request=ItemInSerializer, responses={201: ItemSerializer}
    )
    def post(self, request: Request) -> Response:
        body = ItemInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = item_services.item_create(owner=request_user(request), **body.validated_data)
        return Response(ItemSerializer(item, context={"request": request}).data, status=201)


ITEM_DETAIL = PolymorphicProxySerializer(
    component_name="ItemDetail",
    serializers={"owner": ItemSerializer, "neighbour": NeighbourItemSerializer},
    resource_type_field_name="view",
    many=False,
)


def item_detail_response(request: Request, **lookup: Any) -> Response:
    """The item of ``lookup`` as ``GET /items/{id}`` shows it: one's own in full, a neighbour's
    (within shared neighbourhoods only) as in a search; 404 for anything else."""
    user = request_user(request)
    item = _my_items(user).filter(**lookup).first()
    if item is not None:
        return Response(ItemSerializer(item, context={"request": request}).data)
    # Someone else's item: only within shared neighbourhoods, as neighbours see it.
    found = (
        selectors.items_visible_to(user)
        .filter(**lookup)
        .select_related("owner")
        .prefetch_related("photos")
        .first()
    )
    if found is None:
        raise NotFoundError()
    data = NeighbourItemSerializer(
        found,
        context={
            "request": request,
            "reliability": selectors.reliability([found.owner_id]),
        },
    ).data
    return Response(data)


class ItemDetailApi(APIView):
    @extend_schema(
        operation_id="item_get",
        responses=ITEM_DETAIL,
        description="Your own item in full; a neighbour's as in a search, without travel time.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return item_detail_response(request, pk=pk)

    @extend_schema(
        operation_id="item_update", request=ItemPatchSerializer, responses=ItemSerializer
    )
    def patch(self, request: Request, pk: int) -> Response:
        body = ItemPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = item_services.item_update(
            actor=request_user(request), item_id=pk, **body.validated_data
        )
        return Response(ItemSerializer(item, context={"request": request}).data)

    @extend_schema(operation_id="item_withdraw", responses={200: ItemSerializer})
    def delete(self, request: Request, pk: int) -> Response:
        item = item_services.item_withdraw(actor=request_user(request), item_id=pk)
        return Response(ItemSerializer(item, context={"request": request}).data)


class ItemByCodeApi(APIView):
    """The item of a short code printed on paper (``/i/<code>``'s QR code, or typed)."""

    throttle_classes = [ItemCodeThrottle]

    @extend_schema(
        operation_id="item_get_by_code",
        responses=ITEM_DETAIL,
        description="The item whose short code (six characters, printed with a QR code on the "
        "association's noticeboard sheets) is `code`, as `GET /items/{id}` shows it: your "
        "own, or a neighbour's within a neighbourhood you share. Lower case, spaces and dashes "
        "are read too. 404 for a code that is nobody's, or an item you may not see.",
    )
    def get(self, request: Request, code: str) -> Response:
        found = item_code_read(code)
        if found is None:
            raise NotFoundError()
        return item_detail_response(request, code=found)


class ItemBlockApi(apis_calendar.ItemBlockedPeriodsApi):
    """GET lists the owner's blocked periods (apis_calendar); POST blocks one."""

    @extend_schema(
        operation_id="item_block",
        request=BlockSerializer,
        responses={201: apis_calendar.BlockedPeriodSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = BlockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        block = item_services.item_block(
            actor=request_user(request), item_id=pk, **body.validated_data
        )
        return Response(apis_calendar.BlockedPeriodSerializer(block).data, status=201)


class ItemPhotoApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="item_photo_add",
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={201: PhotoSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = PhotoUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["image"]
        from django.conf import settings

        if upload.size > settings.SHARING_PHOTO_MAX_BYTES:
            raise DomainError(
                code="photo_too_large", fields={"image": ["This photo is too large."]}
            )
        photo = item_services.item_photo_add(
            actor=request_user(request), item_id=pk, data=upload.read()
        )
        return Response(PhotoSerializer(photo, context={"request": request}).data, status=201)

    @extend_schema(
        operation_id="item_photos",
        summary="The item's photos in their order (the first is the one lists show)",
        responses={200: PhotoSerializer(many=True)},
    )
    def get(self, request: Request, pk: int) -> Response:
        photos = apis_calendar.item_for(request, pk).photos.order_by("position", "pk")
        return Response(PhotoSerializer(photos, many=True, context={"request": request}).data)


class ItemPhotoDetailApi(APIView):
    @extend_schema(
        operation_id="item_photo_delete",
        summary="Remove a photo of my item",
        responses={204: None, 403: OpenApiResponse(description="not_owner")},
    )
    def delete(self, request: Request, pk: int, photo_id: int) -> Response:
        item_services.item_photo_delete(actor=request_user(request), photo_id=photo_id, item_id=pk)
        return Response(status=204)


class PhotoOrderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=50,
        help_text="Every photo id of the item, each once, in the order wanted.",
    )


class ItemPhotoOrderApi(APIView):
    @extend_schema(
        operation_id="item_photos_reorder",
        summary="Put my item's photos in another order",
        request=PhotoOrderSerializer,
        responses={200: PhotoSerializer(many=True), 403: OpenApiResponse(description="not_owner")},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = PhotoOrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        photos = item_services.item_photos_reorder(
            actor=request_user(request), item_id=pk, photo_ids=body.validated_data["order"]
        )
        return Response(PhotoSerializer(photos, many=True, context={"request": request}).data)


class ItemsNearbyApi(APIView):
    throttle_classes = [NearbyThrottle]

    @extend_schema(
        operation_id="items_nearby",
        parameters=[NearbyQuerySerializer],
        responses=inline_serializer(
            "NearbyItems",
            {"count": serializers.IntegerField(), "results": NearbyItemSerializer(many=True)},
        ),
    )
    def get(self, request: Request) -> Response:
        query = NearbyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        at = data.get("at")
        search = selectors.items_nearby(
            user=request_user(request),
            minutes=data["minutes"],
            profile=data.get("profile"),
            at=Point(at[0], at[1], srid=4326) if at else None,
            q=data.get("q") or None,
            category=data.get("category"),
            available_from=data.get("available_from"),
            available_until=data.get("available_until"),
        )
        rows = search.page(data["offset"], data["limit"])
        return Response(
            {
                "count": len(search.reachable),
                "results": NearbyItemSerializer(rows, many=True, context={"request": request}).data,
            }
        )


class LoanListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(operation_id="loans_mine", responses=LoanSerializer(many=True))
    def get(self, request: Request) -> Response:
        role = request.query_params.get("role")
        status = request.query_params.get("status")
        paginator = CursorPagination()
        page = paginator.paginate_queryset(
            selectors.loans_for(request_user(request), role, status), request, view=self
        )
        return paginator.get_paginated_response(
            LoanSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="loan_request", request=LoanRequestSerializer, responses={201: LoanSerializer}
    )
    def post(self, request: Request) -> Response:
        body = LoanRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        loan = loan_services.loan_request(
            borrower=request_user(request),
            item_id=data["item"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            message=data["message"],
        )
        return Response(LoanSerializer(loan, context={"request": request}).data, status=201)


class LoanDetailApi(APIView):
    @extend_schema(operation_id="loan_get", responses=LoanSerializer)
    def get(self, request: Request, pk: int) -> Response:
        loan = selectors.loans_for(request_user(request)).filter(pk=pk).first()
        if loan is None:
            raise NotFoundError()
        return Response(LoanSerializer(loan, context={"request": request}).data)


LOAN_ACTIONS = (
    "accept",
    "decline",
    "cancel",
    "handover",
    "return",
    "confirm-return",
    "dispute",
    "renew",
    "renew-accept",
    "renew-decline",
)


class LoanActionApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="loan_action",
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=LOAN_ACTIONS)],
        request={
            "application/json": LoanActionJSONSerializer,
            "multipart/form-data": LoanActionSerializer,
        },
        responses={200: LoanSerializer, 403: OpenApiResponse(description="Not your turn.")},
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        if action not in LOAN_ACTIONS:
            raise NotFoundError()
        body = LoanActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not Loan.objects.filter(pk=pk).exists():
            raise NotFoundError()
        user = request_user(request)
        if action == "accept":
            loan = loan_services.loan_accept(
                actor=user,
                loan_id=pk,
                meeting_point=data.get("meeting_point"),
                meeting_note=data["meeting_note"],
            )
        elif action == "decline":
            loan = loan_services.loan_decline(actor=user, loan_id=pk, reason=data["reason"])
        elif action == "cancel":
            loan = loan_services.loan_cancel(actor=user, loan_id=pk)
        elif action == "handover":
            loan = loan_services.loan_handover(actor=user, loan_id=pk, code=data.get("code"))
        elif action == "return":
            loan = loan_services.loan_return(actor=user, loan_id=pk)
        elif action == "confirm-return":
            if "condition" not in data:
                raise DomainError(code="invalid", fields={"condition": ["This field is required."]})
            photo = data.get("photo")
            loan = loan_services.loan_confirm_return(
                actor=user,
                loan_id=pk,
                condition=data["condition"],
                note=data["note"],
                photo=photo.read() if photo else None,
            )
        elif action == "dispute":
            loan = loan_services.loan_dispute(actor=user, loan_id=pk, reason=data["reason"])
        elif action == "renew-accept":
            loan = loan_services.loan_renew_accept(actor=user, loan_id=pk)
        elif action == "renew-decline":
            loan = loan_services.loan_renew_decline(actor=user, loan_id=pk, reason=data["reason"])
        else:
            if "ends_at" not in data:
                raise DomainError(code="invalid", fields={"ends_at": ["This field is required."]})
            loan = loan_services.loan_renew(actor=user, loan_id=pk, ends_at=data["ends_at"])
        loan = selectors.loans_for(user).get(pk=loan.pk)
        return Response(LoanSerializer(loan, context={"request": request}).data)
