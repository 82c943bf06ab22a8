from django.urls import path

from accounts import views

urlpatterns = [
    path("r/<str:code>", views.referral_landing, name="referral_landing"),
    path("profile/", views.profile, name="profile"),
]
