from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("topup/", views.topup_start, name="topup_start"),
    path("topup/return/", views.topup_return, name="topup_return"),
    path("topup/<int:topup_id>/", views.topup_status, name="topup_status"),
    path("checkout/<str:order_id>/", views.checkout, name="checkout"),
    path("withdraw/", views.withdraw, name="withdraw"),
]
