from django.urls import path

from wallet import views

app_name = "wallet"
urlpatterns = [
    path("", views.wallet_home, name="home"),
    path("statement.csv", views.statement_csv, name="statement_csv"),
    path("send/", views.send, name="send"),
    path("send/confirm/", views.send_confirm, name="send_confirm"),
    path("receive/", views.receive, name="receive"),
]
