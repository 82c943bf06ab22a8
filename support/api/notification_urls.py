from django.urls import path

from support.api import views

urlpatterns = [
    path("", views.NotificationListApi.as_view(), name="api-notifications"),
    path("unread-count/", views.UnreadCountApi.as_view(), name="api-notifications-unread"),
    path("read-all/", views.NotificationReadAllApi.as_view(), name="api-notifications-read-all"),
    path("preferences/", views.PreferencesApi.as_view(), name="api-notifications-preferences"),
    path(
        "<int:notification_id>/",
        views.NotificationDetailApi.as_view(),
        name="api-notification",
    ),
    path(
        "<int:notification_id>/read/",
        views.NotificationReadApi.as_view(),
        name="api-notification-read",
    ),
]
