from django.urls import path

from marketplace import views

app_name = "marketplace"
urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("services/<slug:slug>/", views.service_detail, name="service"),
    path("checkout/<int:plan_id>/", views.checkout, name="checkout"),
    path("checkout/<int:plan_id>/order/", views.order_create, name="order_create"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("orders/<int:order_id>/return/", views.order_return, name="order_return"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("passes/", views.passes, name="passes"),
    path("receipts/", views.purchases, name="purchases"),
    path("receipts/<int:purchase_id>/", views.receipt, name="receipt"),
]
