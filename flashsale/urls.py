from django.urls import path

from flashsale import views

app_name = "flashsale"
urlpatterns = [
    path("", views.storefront, name="storefront"),
    path("sales/<int:sale_id>/", views.sale_detail, name="sale"),
    path("items/<int:item_id>/hold/", views.hold_create, name="hold_create"),
    path("items/<int:item_id>/waitlist/", views.waitlist_join, name="waitlist_join"),
    path("items/<int:item_id>/waitlist/leave/", views.waitlist_leave, name="waitlist_leave"),
    path("holds/<int:hold_id>/", views.hold_detail, name="hold"),
    path("holds/<int:hold_id>/checkout/", views.hold_checkout, name="hold_checkout"),
    path("holds/<int:hold_id>/pay/", views.hold_pay_mixed, name="hold_pay_mixed"),
    path("holds/<int:hold_id>/release/", views.hold_release, name="hold_release"),
    path("payments/<int:payment_id>/", views.payment_detail, name="payment"),
    path("payments/<int:payment_id>/return/", views.payment_return, name="payment_return"),
    path("payments/<int:payment_id>/cancel/", views.payment_cancel, name="payment_cancel"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
]
