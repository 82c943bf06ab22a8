"""/sessions/...: the user's metered sessions (start, live cost, stop)."""

from django.urls import path

from marketplace import vendor_views

app_name = "marketplace-sessions"

urlpatterns = [
    path("", vendor_views.session_list, name="list"),
    path("start/<int:plan_id>/", vendor_views.session_start, name="start"),
    path("<int:session_id>/", vendor_views.session_detail, name="detail"),
    path("<int:session_id>/stop/", vendor_views.session_stop, name="stop"),
    path("vendor/", vendor_views.console, name="console"),
]
