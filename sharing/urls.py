from django.urls import path

from sharing import apis, apis_calendar, apis_members
from sharing import apis_community as community

urlpatterns = [
    path("items/categories", apis.CategoryListApi.as_view(), name="item-categories"),
    path("items/nearby", apis.ItemsNearbyApi.as_view(), name="items-nearby"),
    path("items/", apis.ItemListApi.as_view(), name="items"),
    path("items/by-code/<str:code>", apis.ItemByCodeApi.as_view(), name="item-by-code"),
    path("items/<int:pk>", apis.ItemDetailApi.as_view(), name="item-detail"),
    path("items/<int:pk>/photos", apis.ItemPhotoApi.as_view(), name="item-photos"),
    path("items/<int:pk>/photos/order", apis.ItemPhotoOrderApi.as_view(), name="item-photos-order"),
    path(
        "items/<int:pk>/photos/<int:photo_id>",
        apis.ItemPhotoDetailApi.as_view(),
        name="item-photo",
    ),
    path("items/<int:pk>/blocked-periods", apis.ItemBlockApi.as_view(), name="item-block"),
    path(
        "items/<int:pk>/blocked-periods/<int:block_id>",
        apis_calendar.ItemBlockedPeriodApi.as_view(),
        name="item-blocked-period",
    ),
    path(
        "items/<int:pk>/availability",
        apis_calendar.ItemAvailabilityApi.as_view(),
        name="item-availability",
    ),
    path("members/<int:member_id>", apis_members.MemberProfileApi.as_view(), name="member"),
    path(
        "members/<int:member_id>/block",
        apis_members.MemberBlockApi.as_view(),
        name="member-block",
    ),
    path("me/blocks", apis_members.MyBlocksApi.as_view(), name="me-blocks"),
    path("loans/", apis.LoanListApi.as_view(), name="loans"),
    path("loans/<int:pk>", apis.LoanDetailApi.as_view(), name="loan-detail"),
    path("loans/<int:pk>/<str:action>", apis.LoanActionApi.as_view(), name="loan-action"),
    # community: wanted requests and offers, conversations, trust, moderation
    path("wanted/", community.WantedListApi.as_view(), name="wanted"),
    path("wanted/inbox", community.WantedInboxApi.as_view(), name="wanted-inbox"),
    path("wanted/<int:pk>", community.WantedDetailApi.as_view(), name="wanted-detail"),
    path("wanted/<int:pk>/matches", community.WantedMatchesApi.as_view(), name="wanted-matches"),
    path("wanted/<int:pk>/offers", community.WantedOffersApi.as_view(), name="wanted-offers"),
    path("offers/<int:pk>/<str:action>", community.OfferActionApi.as_view(), name="offer-action"),
    path("conversations/", community.ConversationListApi.as_view(), name="conversations"),
    path(
        "conversations/<int:pk>/messages",
        community.ConversationMessagesApi.as_view(),
        name="conversation-messages",
    ),
    path("ratings/", community.RatingCreateApi.as_view(), name="ratings"),
    path("reports/", community.ReportCreateApi.as_view(), name="reports"),
    path(
        "moderation/reports",
        community.ModerationReportListApi.as_view(),
        name="moderation-reports",
    ),
    path(
        "moderation/reports/<int:pk>/<str:action>",
        community.ModerationReportActionApi.as_view(),
        name="moderation-report-action",
    ),
    path(
        "moderation/memberships",
        community.ModerationMembershipListApi.as_view(),
        name="moderation-memberships",
    ),
    path(
        "moderation/memberships/<int:pk>/<str:action>",
        community.ModerationMembershipActionApi.as_view(),
        name="moderation-membership-action",
    ),
]
