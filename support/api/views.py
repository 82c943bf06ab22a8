"""/api/v1/support/ (conversations, messages, read marks, ratings, assignment) and
/api/v1/notifications/ (list, mark read, mark all read, delete, preferences).

Membership is the same as on the pages and sockets (selectors.conversation_access):
someone else's conversation is a 404, exactly like a missing one.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from support import selectors, services
from support.api import serializers as s
from support.errors import NotAllowed
from support.payloads import conversation_payload, message_payload
from support.services.notifications import notification_payload

TAGS = ["support"]
NOTIFICATION_TAGS = ["notifications"]


class IsStaff(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


def _list_item(conversation) -> dict:
    return {
        **conversation_payload(conversation),
        "unread": conversation.unread,
        "last_message_preview": conversation.last_message_preview,
    }


# --- conversations ---------------------------------------------------------------------------


class ConversationListApi(APIView):
    @extend_schema(
        operation_id="support_conversations_list",
        summary="Your conversations (staff: the agent queue)",
        parameters=[
            OpenApiParameter(
                "view", str, description="Staff: mine | unassigned | all | consultations"
            ),
            OpenApiParameter("status", str, description="Staff: active (default) | any | a status"),
            OpenApiParameter(
                "role", str, description="Vendors: 'vendor' lists consultations about your services"
            ),
        ],
        responses=s.ConversationListOut,
        tags=TAGS,
    )
    def get(self, request):
        user = request.user
        if user.is_staff:
            view = request.query_params.get("view", "mine")
            status_filter = request.query_params.get("status", "active")
            conversations = selectors.agent_queue(
                agent=user, filters=selectors.QueueFilters(view=view, status=status_filter)
            )
        elif request.query_params.get("role") == "vendor":
            conversations = selectors.consultations_for_vendor(user=user, status="any")
        else:
            conversations = selectors.conversations_for_customer(user=user)
        return Response({"results": [_list_item(c) for c in conversations[:100]]})

    @extend_schema(
        operation_id="support_conversations_create",
        summary="Start a support conversation or a consultation",
        request=s.ConversationCreateIn,
        responses={201: s.ConversationOut},
        tags=TAGS,
    )
    def post(self, request):
        data = s.ConversationCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["kind"] == "consultation":
            conversation = services.consultation_start(
                customer=request.user,
                service_slug=values["service"],
                subject=values["subject"],
                body=values["body"],
                client_id=values["client_id"],
            )
        else:
            conversation = services.conversation_start(
                customer=request.user,
                subject=values["subject"],
                body=values["body"],
                client_id=values["client_id"],
            )
        return Response(conversation_payload(conversation), status=status.HTTP_201_CREATED)


class ConversationDetailApi(APIView):
    @extend_schema(
        operation_id="support_conversations_retrieve", responses=s.ConversationOut, tags=TAGS
    )
    def get(self, request, conversation_id: int):
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        return Response(conversation_payload(conversation))

    @extend_schema(
        operation_id="support_conversations_update",
        summary="Change status (members as allowed) or priority (staff)",
        request=s.ConversationUpdateIn,
        responses=s.ConversationOut,
        tags=TAGS,
    )
    def patch(self, request, conversation_id: int):
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        data = s.ConversationUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "priority" in values:
            conversation = services.conversation_set_priority(
                conversation_id=conversation.pk,
                acting_user=request.user,
                priority=values["priority"],
            )
        if "status" in values:
            conversation = services.conversation_set_status(
                conversation_id=conversation.pk,
                acting_user=request.user,
                status=values["status"],
                snoozed_until=values.get("snoozed_until"),
            )
        return Response(conversation_payload(conversation))


class MessageListApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="support_messages_list",
        summary="Messages after a given id (catch-up), or before one (history), oldest first",
        parameters=[s.MessageListQuery],
        responses=s.MessageListOut,
        tags=TAGS,
    )
    def get(self, request, conversation_id: int):
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        query = s.MessageListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        before, limit = query.validated_data.get("before"), query.validated_data.get("limit")
        if before is not None:
            messages, more = selectors.messages_latest(
                conversation=conversation,
                user=request.user,
                before_id=before,
                limit=limit or 50,
            )
        else:
            messages, more = selectors.messages_after(
                conversation=conversation,
                user=request.user,
                after_id=query.validated_data["after"],
                limit=limit,
            )
        return Response(
            {
                "results": [message_payload(m, conversation) for m in messages],
                "more": more,
                "read": selectors.read_state(conversation=conversation),
            }
        )

    @extend_schema(
        operation_id="support_messages_create",
        summary="Send a message (JSON), or a file with an optional caption (multipart)",
        description="A repeat of the same client_id returns the first message with 200 instead of 201.",
        request={"application/json": s.MessageCreateIn, "multipart/form-data": s.MessageCreateIn},
        responses={201: s.MessageOut, 200: s.MessageOut},
        tags=TAGS,
    )
    def post(self, request, conversation_id: int):
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        data = s.MessageCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        message, created = services.message_send(
            conversation_id=conversation.pk,
            sender=request.user,
            body=values["body"],
            client_id=values["client_id"],
            internal=values["internal"],
            attachment=values.get("attachment"),
        )
        return Response(
            message_payload(message, conversation),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ReadApi(APIView):
    @extend_schema(
        operation_id="support_read_create",
        summary="Mark the conversation read up to a message",
        request=s.ReadIn,
        responses=s.ReadOut,
        tags=TAGS,
    )
    def post(self, request, conversation_id: int):
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        data = s.ReadIn(data=request.data)
        data.is_valid(raise_exception=True)
        mark = services.conversation_read(
            conversation=conversation,
            user=request.user,
            message_id=data.validated_data["message_id"],
        )
        return Response({"last_read_id": mark})


class AssignApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="support_assign_create",
        summary="Assign to an agent, to yourself, by round-robin, or unassign (staff)",
        request=s.AssignIn,
        responses=s.ConversationOut,
        tags=TAGS,
    )
    def post(self, request, conversation_id: int):
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        data = s.AssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        agent_value = data.validated_data["agent"]
        if agent_value == "auto":
            if conversation.assignee_id:
                services.conversation_assign(
                    conversation_id=conversation.pk, agent=None, acting_user=request.user
                )
            services.conversation_auto_assign(conversation_id=conversation.pk)
        else:
            agent = None
            if agent_value == "me":
                agent = request.user
            elif agent_value not in (None, ""):
                agent = User.objects.filter(
                    pk=agent_value if str(agent_value).isdigit() else 0, is_staff=True
                ).first()
                if agent is None:
                    raise NotAllowed("That person is not a staff member.")
            services.conversation_assign(
                conversation_id=conversation.pk, agent=agent, acting_user=request.user
            )
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        return Response(conversation_payload(conversation))


class RatingApi(APIView):
    @extend_schema(
        operation_id="support_rating_create",
        summary="Rate a resolved conversation (the customer, once)",
        request=s.RatingIn,
        responses={201: s.RatingOut},
        tags=TAGS,
    )
    def post(self, request, conversation_id: int):
        conversation = selectors.conversation_access(
            user=request.user, conversation_id=conversation_id
        )
        data = s.RatingIn(data=request.data)
        data.is_valid(raise_exception=True)
        rating = services.csat_submit(
            conversation=conversation,
            user=request.user,
            score=data.validated_data["score"],
            comment=data.validated_data["comment"],
        )
        return Response(
            {"score": rating.score, "comment": rating.comment, "created_at": rating.created_at},
            status=status.HTTP_201_CREATED,
        )


class CannedReplyListApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="support_canned_replies_list",
        responses=s.CannedReplyOut(many=True),
        tags=TAGS,
    )
    def get(self, request):
        return Response(
            [
                {"shortcut": reply.shortcut, "title": reply.title, "body": reply.body}
                for reply in selectors.canned_replies()
            ]
        )


class AgentApi(APIView):
    permission_classes = [IsStaff]

    def _out(self, request):
        profile = next(
            (agent for agent in selectors.agents_with_load() if agent.user_id == request.user.pk),
            None,
        )
        return {
            "status": profile.status,
            "max_open": profile.max_open,
            "open_count": profile.open_count,
        }

    @extend_schema(operation_id="support_agent_retrieve", responses=s.AgentOut, tags=TAGS)
    def get(self, request):
        services.agent_profile_ensure(user=request.user)
        return Response(self._out(request))

    @extend_schema(
        operation_id="support_agent_update",
        summary="Set your presence: online, busy or offline",
        request=s.AgentIn,
        responses=s.AgentOut,
        tags=TAGS,
    )
    def put(self, request):
        data = s.AgentIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.agent_set_status(user=request.user, status=data.validated_data["status"])
        return Response(self._out(request))


# --- notifications ---------------------------------------------------------------------------


class NotificationListApi(APIView):
    @extend_schema(
        operation_id="notifications_list",
        parameters=[
            OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread ones"),
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("offset", OpenApiTypes.INT),
        ],
        responses=s.NotificationOut(many=True),
        tags=NOTIFICATION_TAGS,
    )
    def get(self, request):
        from rest_framework.pagination import LimitOffsetPagination

        unread_only = request.query_params.get("unread") in ("1", "true", "yes")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(
            selectors.notifications_for_user(user=request.user, unread_only=unread_only),
            request,
            view=self,
        )
        return paginator.get_paginated_response([notification_payload(n) for n in page])


class UnreadCountApi(APIView):
    @extend_schema(
        operation_id="notifications_unread_count",
        responses=s.UnreadCountOut,
        tags=NOTIFICATION_TAGS,
    )
    def get(self, request):
        return Response({"unread": selectors.notifications_unread_count(user_id=request.user.pk)})


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="notifications_read",
        request=None,
        responses=s.NotificationOut,
        tags=NOTIFICATION_TAGS,
    )
    def post(self, request, notification_id: int):
        notification = services.notification_mark_read(
            user=request.user, notification_id=notification_id
        )
        return Response(notification_payload(notification))


class NotificationReadAllApi(APIView):
    @extend_schema(
        operation_id="notifications_read_all",
        request=None,
        responses=s.ReadAllOut,
        tags=NOTIFICATION_TAGS,
    )
    def post(self, request):
        return Response({"marked_read": services.notifications_mark_all_read(user=request.user)})


class NotificationDetailApi(APIView):
    @extend_schema(
        operation_id="notifications_delete", responses={204: None}, tags=NOTIFICATION_TAGS
    )
    def delete(self, request, notification_id: int):
        services.notification_delete(user=request.user, notification_id=notification_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreferencesApi(APIView):
    @extend_schema(
        operation_id="notifications_preferences_retrieve",
        responses=s.PreferencesOut,
        tags=NOTIFICATION_TAGS,
    )
    def get(self, request):
        return Response({"results": selectors.notification_preferences(user=request.user)})

    @extend_schema(
        operation_id="notifications_preferences_update",
        summary="Change channels for some kinds (others keep theirs)",
        request=s.PreferencesIn,
        responses=s.PreferencesOut,
        tags=NOTIFICATION_TAGS,
    )
    def put(self, request):
        data = s.PreferencesIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.preferences_update(
            user=request.user,
            changes={
                row["kind"]: {"in_app": row["in_app"], "email": row["email"]}
                for row in data.validated_data["preferences"]
            },
        )
        return Response({"results": selectors.notification_preferences(user=request.user)})
