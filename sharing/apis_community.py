"""Community API: wanted requests and offers, conversations, ratings, reports, and the
association's moderation. Thin views: validate, call one service or selector, serialize."""

from __future__ import annotations

from typing import Any

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
from backend.errors import NotFoundError
from backend.pagination import CursorPagination
from backend.throttling import WantedCreateThrottle
from neighbourhoods import selectors as neighbourhood_selectors
from neighbourhoods import services as neighbourhood_services
from sharing import selectors_community as community
from sharing.selectors import loans_for
from sharing.serializers import LoanSerializer
from sharing.serializers_community import (
    ConversationSerializer,
    MatchSerializer,
    MembershipAdminSerializer,
    MessageInSerializer,
    MessageSerializer,
    ModerationActionSerializer,
    ModerationReportSerializer,
    OfferInSerializer,
    OfferSerializer,
    RatingInSerializer,
    RatingListQuerySerializer,
    RatingSerializer,
    ReportInSerializer,
    ReportSerializer,
    WantedInSerializer,
    WantedNeighbourSerializer,
    WantedSerializer,
)
from sharing.services import conversations as conversation_services
from sharing.services import suspension as suspension_services
from sharing.services import trust as trust_services
from sharing.services import wanted as wanted_services

STATUS_PARAM = OpenApiParameter("status", str, required=False, description="Only this status.")


def _paginated(view: APIView, request: Request, rows: Any, serializer: Any, **ctx: Any) -> Response:
    paginator = CursorPagination()
    page = paginator.paginate_queryset(rows, request, view=view)
    context = {"request": request, **ctx}
    return paginator.get_paginated_response(serializer(page, many=True, context=context).data)


def _offer_out(offer_id: int) -> Any:
    from sharing.models import Offer

    return Offer.objects.select_related("lender", "item", "conversation", "loan").get(pk=offer_id)


# --- wanted requests ---------------------------------------------------------------------------


class WantedListApi(APIView):
    pagination_class = CursorPagination
    throttle_classes = [WantedCreateThrottle]

    @extend_schema(
        operation_id="wanted_mine", parameters=[STATUS_PARAM], responses=WantedSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        rows = community.wanted_mine(request_user(request), request.query_params.get("status"))
        return _paginated(self, request, rows, WantedSerializer)

    @extend_schema(
        operation_id="wanted_create",
        request=WantedInSerializer,
        responses={
            201: WantedSerializer,
            409: OpenApiResponse(description="too_many_wanted: the cap on open requests."),
        },
    )
    def post(self, request: Request) -> Response:
        body = WantedInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted = wanted_services.wanted_create(
            requester=request_user(request), **body.validated_data
        )
        return Response(
            WantedSerializer(community.wanted_for(request_user(request), wanted.pk)).data,
            status=201,
        )


class WantedInboxApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(operation_id="wanted_inbox", responses=WantedNeighbourSerializer(many=True))
    def get(self, request: Request) -> Response:
        return _paginated(
            self, request, community.wanted_inbox(request_user(request)), WantedNeighbourSerializer
        )


def _wanted_out(request: Request, wanted: Any) -> dict[str, Any]:
    if wanted.requester_id == request_user(request).pk:
        return WantedSerializer(wanted).data
    return WantedNeighbourSerializer(wanted).data


class WantedDetailApi(APIView):
    @extend_schema(
        operation_id="wanted_get",
        responses={
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="WantedDetail",
                    serializers={
                        "author": WantedSerializer,
                        "neighbour": WantedNeighbourSerializer,
                    },
                    resource_type_field_name="view",
                    many=False,
                ),
                description="The author gets WantedSerializer; a neighbour "
                "WantedNeighbourSerializer.",
            )
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_wanted_out(request, community.wanted_for(request_user(request), pk)))

    @extend_schema(operation_id="wanted_cancel", responses={200: WantedSerializer})
    def delete(self, request: Request, pk: int) -> Response:
        community.wanted_for(request_user(request), pk)  # 404 for those who cannot see it
        wanted_services.wanted_cancel(actor=request_user(request), wanted_id=pk)
        return Response(WantedSerializer(community.wanted_for(request_user(request), pk)).data)


class WantedMatchesApi(APIView):
    @extend_schema(
        operation_id="wanted_matches",
        responses=inline_serializer(
            "WantedMatches",
            {"count": serializers.IntegerField(), "results": MatchSerializer(many=True)},
        ),
    )
    def get(self, request: Request, pk: int) -> Response:
        wanted = community.wanted_for(request_user(request), pk)
        if wanted.requester_id != request_user(request).pk:
            raise wanted_services.NotRequesterError()
        matches = community.wanted_matches(wanted)
        rows = matches.rows[:50]
        context = {
            "request": request,
            "reliability": matches.reliability,
            "scores": {m.item.pk: m.score for m in rows},
        }
        return Response(
            {
                "count": len(matches.rows),
                "results": MatchSerializer([m.item for m in rows], many=True, context=context).data,
            }
        )


class WantedOffersApi(APIView):
    @extend_schema(
        operation_id="offer_create", request=OfferInSerializer, responses={201: OfferSerializer}
    )
    def post(self, request: Request, pk: int) -> Response:
        body = OfferInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        offer = wanted_services.offer_create(
            lender=request_user(request),
            wanted_id=pk,
            item_id=body.validated_data["item"],
            message=body.validated_data["message"],
        )
        return Response(OfferSerializer(_offer_out(offer.pk)).data, status=201)


OFFER_ACTIONS = ("accept", "decline", "withdraw")


class OfferActionApi(APIView):
    @extend_schema(
        operation_id="offer_action",
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=OFFER_ACTIONS)],
        request=None,
        responses={
            201: OpenApiResponse(LoanSerializer, description="accept: the loan request."),
            200: OpenApiResponse(
                OfferSerializer,
                description="decline (the requester) or withdraw (the lender): the offer.",
            ),
            403: OpenApiResponse(description="not_requester, not_offer_lender"),
        },
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        if action == "accept":
            loan = wanted_services.offer_accept(actor=request_user(request), offer_id=pk)
            loan = loans_for(request_user(request)).get(pk=loan.pk)
            return Response(LoanSerializer(loan, context={"request": request}).data, status=201)
        if action == "decline":
            offer = wanted_services.offer_decline(actor=request_user(request), offer_id=pk)
            return Response(OfferSerializer(_offer_out(offer.pk)).data)
        if action == "withdraw":
            offer = wanted_services.offer_withdraw(actor=request_user(request), offer_id=pk)
            return Response(OfferSerializer(_offer_out(offer.pk)).data)
        raise NotFoundError()


# --- conversations -----------------------------------------------------------------------------


class ConversationListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(operation_id="conversations_mine", responses=ConversationSerializer(many=True))
    def get(self, request: Request) -> Response:
        return _paginated(
            self,
            request,
            community.conversations_for(request_user(request)),
            ConversationSerializer,
        )


class ConversationMessagesApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="conversation_messages",
        responses=MessageSerializer(many=True),
        description="The visible messages, the newest first.",
    )
    def get(self, request: Request, pk: int) -> Response:
        conversation = conversation_services.conversation_for(request_user(request), pk)
        return _paginated(self, request, community.messages_for(conversation), MessageSerializer)

    @extend_schema(
        operation_id="conversation_message_send",
        request=MessageInSerializer,
        responses={201: MessageSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = MessageInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = conversation_services.message_send(
            sender=request_user(request), conversation_id=pk, body=body.validated_data["body"]
        )
        return Response(MessageSerializer(message).data, status=201)


# --- ratings and reports -----------------------------------------------------------------------


class RatingCreateApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="ratings_mine",
        parameters=[RatingListQuerySerializer],
        responses=RatingSerializer(many=True),
        description="Ratings about me (role=received, the default) or by me (role=given).",
    )
    def get(self, request: Request) -> Response:
        query = RatingListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = community.ratings_for(request_user(request), query.validated_data["role"])
        return _paginated(self, request, rows, RatingSerializer)

    @extend_schema(
        operation_id="rating_create", request=RatingInSerializer, responses={201: RatingSerializer}
    )
    def post(self, request: Request) -> Response:
        body = RatingInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        rating = trust_services.rating_create(
            rater=request_user(request),
            loan_id=data["loan"],
            score=data["score"],
            comment=data["comment"],
        )
        return Response(RatingSerializer(rating).data, status=201)


class ReportCreateApi(APIView):
    @extend_schema(
        operation_id="report_create", request=ReportInSerializer, responses={201: ReportSerializer}
    )
    def post(self, request: Request) -> Response:
        body = ReportInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        report = trust_services.report_create(
            reporter=request_user(request),
            target=data["target"],
            reason=data["reason"],
            item_id=data.get("item"),
            message_id=data.get("message"),
            member_id=data.get("member"),
        )
        return Response(ReportSerializer(report).data, status=201)


# --- moderation (the association's staff) ------------------------------------------------------


class ModerationReportListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="moderation_reports",
        parameters=[STATUS_PARAM],
        responses=ModerationReportSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        rows = community.reports_for_staff(
            request_user(request), request.query_params.get("status")
        )
        return _paginated(self, request, rows, ModerationReportSerializer)


REPORT_ACTIONS = ("hide", "dismiss", "suspend")


class ModerationReportActionApi(APIView):
    @extend_schema(
        operation_id="moderation_report_action",
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=REPORT_ACTIONS)],
        request=ModerationActionSerializer,
        responses={200: ModerationReportSerializer, 403: OpenApiResponse(description="not staff")},
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        if action not in REPORT_ACTIONS:
            raise NotFoundError()
        body = ModerationActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        staff = request_user(request)
        if action == "hide":
            trust_services.report_hide(staff=staff, report_id=pk)
        elif action == "dismiss":
            trust_services.report_dismiss(staff=staff, report_id=pk)
        else:
            trust_services.report_suspend(
                staff=staff, report_id=pk, reason=body.validated_data["reason"]
            )
        report = community.reports_for_staff(staff).get(pk=pk)
        return Response(ModerationReportSerializer(report).data)


class ModerationMembershipListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="moderation_memberships",
        parameters=[STATUS_PARAM],
        responses=MembershipAdminSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        rows = neighbourhood_selectors.memberships_for_staff(
            request_user(request), request.query_params.get("status")
        )
        return _paginated(self, request, rows, MembershipAdminSerializer)


MEMBERSHIP_ACTIONS = ("approve", "refuse", "suspend")


class ModerationMembershipActionApi(APIView):
    @extend_schema(
        operation_id="moderation_membership_action",
        parameters=[
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=MEMBERSHIP_ACTIONS)
        ],
        request=ModerationActionSerializer,
        responses={200: MembershipAdminSerializer, 403: OpenApiResponse(description="not staff")},
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        if action not in MEMBERSHIP_ACTIONS:
            raise NotFoundError()
        body = ModerationActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        staff = request_user(request)
        if action == "approve":
            membership = neighbourhood_services.membership_approve(staff=staff, membership_id=pk)
        elif action == "refuse":
            membership = neighbourhood_services.membership_refuse(staff=staff, membership_id=pk)
        else:
            membership = suspension_services.member_suspend(
                staff=staff, membership_id=pk, reason=body.validated_data["reason"]
            )
        membership = neighbourhood_selectors.memberships_for_staff(staff).get(pk=membership.pk)
        return Response(MembershipAdminSerializer(membership).data)
