from django.urls import path

from flashsale.api import views

urlpatterns = [
    path("", views.SaleListApi.as_view(), name="api-flash-sales"),
    path("<int:sale_id>/", views.SaleDetailApi.as_view(), name="api-flash-sale"),
    path("items/<int:item_id>/holds/", views.HoldCreateApi.as_view(), name="api-flash-hold-create"),
    path("items/<int:item_id>/waitlist/", views.WaitlistApi.as_view(), name="api-flash-waitlist"),
    path("holds/", views.HoldListApi.as_view(), name="api-flash-holds"),
    path("holds/<int:hold_id>/", views.HoldDetailApi.as_view(), name="api-flash-hold"),
    path(
        "holds/<int:hold_id>/checkout/",
        views.HoldCheckoutApi.as_view(),
        name="api-flash-hold-checkout",
    ),
    path(
        "holds/<int:hold_id>/release/",
        views.HoldReleaseApi.as_view(),
        name="api-flash-hold-release",
    ),
    path("orders/<int:order_id>/", views.OrderDetailApi.as_view(), name="api-flash-order"),
    path("payments/<int:payment_id>/", views.PaymentDetailApi.as_view(), name="api-flash-payment"),
    path(
        "payments/<int:payment_id>/verify/",
        views.PaymentVerifyApi.as_view(),
        name="api-flash-payment-verify",
    ),
    path(
        "payments/<int:payment_id>/cancel/",
        views.PaymentCancelApi.as_view(),
        name="api-flash-payment-cancel",
    ),
]
