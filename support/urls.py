from django.urls import path

from support import views

app_name = "support"

urlpatterns = [
    # customers
    path("support/", views.support_home, name="home"),
    path("support/new/", views.conversation_new, name="new"),
    path("support/widget/", views.widget, name="widget"),
    path("support/c/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path("support/c/<int:conversation_id>/status/", views.conversation_status, name="status"),
    path("support/c/<int:conversation_id>/rate/", views.conversation_rate, name="rate"),
    path("support/files/<int:message_id>/", views.attachment_download, name="attachment"),
    # consultations
    path("support/consult/<slug:slug>/", views.consultation_new, name="consult"),
    path("support/inbox/", views.vendor_inbox, name="inbox"),
    # agents
    path("support/agent/", views.console, name="console"),
    path("support/agent/c/<int:conversation_id>/", views.console_pane, name="console_pane"),
    path(
        "support/agent/c/<int:conversation_id>/assign/",
        views.console_assign,
        name="console_assign",
    ),
    path(
        "support/agent/c/<int:conversation_id>/priority/",
        views.console_priority,
        name="console_priority",
    ),
    path(
        "support/agent/c/<int:conversation_id>/status/",
        views.console_status,
        name="console_status",
    ),
    path("support/agent/presence/", views.console_presence, name="console_presence"),
    # notifications
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/bell/", views.bell_menu, name="bell"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/<int:notification_id>/delete/",
        views.notification_delete,
        name="notification_delete",
    ),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
]
