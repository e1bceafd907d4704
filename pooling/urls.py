from django.urls import path

from pooling import apis

urlpatterns = [
    path("merchant/orders", apis.MerchantOrderApi.as_view(), name="merchant-orders"),
    path("orders/", apis.OrderListApi.as_view(), name="orders"),
    path("orders/receiving", apis.ReceivingPreferenceApi.as_view(), name="orders-receiving"),
    path("orders/<int:order_id>", apis.OrderDetailApi.as_view(), name="orders-detail"),
    path("orders/<int:order_id>/cancel", apis.OrderCancelApi.as_view(), name="orders-cancel"),
    path("relay-points", apis.RelayPointsNearApi.as_view(), name="relay-points"),
    path(
        "relay-points/<int:relay_point_id>/deliveries",
        apis.RelayDeliveriesApi.as_view(),
        name="relay-points-deliveries",
    ),
    path(
        "relay-points/<int:relay_point_id>/pickups",
        apis.RelayPickupApi.as_view(),
        name="relay-points-pickups",
    ),
    path("pooling/batches", apis.BatchCreateApi.as_view(), name="pooling-batches"),
    path("pooling/batches/<int:batch_id>", apis.BatchDetailApi.as_view(), name="pooling-batch"),
    path("pooling/impact", apis.ImpactByMonthApi.as_view(), name="pooling-impact"),
    path("pooling/co2-factors", apis.Co2FactorsApi.as_view(), name="pooling-co2-factors"),
    path("courier/routes", apis.CourierRouteListApi.as_view(), name="courier-routes"),
    path(
        "courier/routes/<int:route_id>", apis.CourierRouteDetailApi.as_view(), name="courier-route"
    ),
    path(
        "courier/routes/<int:route_id>/start",
        apis.CourierRouteStartApi.as_view(),
        name="courier-route-start",
    ),
    path(
        "courier/routes/<int:route_id>/stops/<int:stop_id>/delivered",
        apis.StopDeliveredApi.as_view(),
        name="courier-stop-delivered",
    ),
    path(
        "courier/routes/<int:route_id>/stops/<int:stop_id>/failed",
        apis.StopFailedApi.as_view(),
        name="courier-stop-failed",
    ),
    path("courier/position", apis.CourierPositionApi.as_view(), name="courier-position"),
    path("courier/duty", apis.CourierDutyApi.as_view(), name="courier-duty"),
]
