from django.urls import path

from support.api import views

urlpatterns = [
    path("conversations/", views.ConversationListApi.as_view(), name="api-support-conversations"),
    path(
        "conversations/<int:conversation_id>/",
        views.ConversationDetailApi.as_view(),
        name="api-support-conversation",
    ),
    path(
        "conversations/<int:conversation_id>/messages/",
        views.MessageListApi.as_view(),
        name="api-support-messages",
    ),
    path(
        "conversations/<int:conversation_id>/read/",
        views.ReadApi.as_view(),
        name="api-support-read",
    ),
    path(
        "conversations/<int:conversation_id>/assign/",
        views.AssignApi.as_view(),
        name="api-support-assign",
    ),
    path(
        "conversations/<int:conversation_id>/rating/",
        views.RatingApi.as_view(),
        name="api-support-rating",
    ),
    path("canned-replies/", views.CannedReplyListApi.as_view(), name="api-support-canned"),
    path("agent/", views.AgentApi.as_view(), name="api-support-agent"),
]
