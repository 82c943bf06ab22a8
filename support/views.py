"""Support pages: the customer's chats and widget, the agent console, the vendor inbox,
consultations, notifications and their settings. Views parse input, call one service or
selector and render; the chat itself runs over /ws/chat/<id>/ (support.consumers).
"""

import json
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from accounts.models import User
from flexpass.errors import DomainError
from flexpass.views import back_to
from support import selectors, services
from support.errors import ChatRefused, ConversationNotFound
from support.models import (
    CONSULTATION_STATUSES,
    SUPPORT_STATUSES,
    ConversationKind,
    ConversationStatus,
    Message,
    MessageKind,
    Priority,
)
from support.payloads import conversation_payload, message_payload

SUPPORT_STATUS_VALUES = [status.value for status in SUPPORT_STATUSES]
CONSULTATION_STATUS_VALUES = [status.value for status in CONSULTATION_STATUSES]


def _toast(response: HttpResponse, message: str, level: str = "success") -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"toast": {"message": message, "level": level}})
    return response


def _json_for_script(value) -> str:
    """JSON safe inside <script type="application/json"> (what json_script escapes)."""
    from django.core.serializers.json import DjangoJSONEncoder
    from django.utils.html import _json_script_escapes
    from django.utils.safestring import mark_safe

    return mark_safe(json.dumps(value, cls=DjangoJSONEncoder).translate(_json_script_escapes))


def chat_context(*, conversation, user) -> dict:
    """Everything the chat panel needs to draw itself before its socket connects."""
    history, more = selectors.messages_latest(conversation=conversation, user=user)
    role = (
        "customer"
        if user.pk == conversation.customer_id
        else "vendor"
        if user.pk == conversation.vendor_id
        else "agent"
    )
    chat_data = {
        "conversation": conversation_payload(conversation),
        "messages": [message_payload(message, conversation) for message in history],
        "more": more,
        "read": selectors.read_state(conversation=conversation),
        "me": {"id": user.pk, "name": user.display_name, "role": role, "staff": user.is_staff},
        "upload_url": reverse("api-support-messages", args=[conversation.pk]),
        "max_bytes": _max_bytes(),
        "canned": [
            {"shortcut": reply.shortcut, "title": reply.title, "body": reply.body}
            for reply in selectors.canned_replies()
        ]
        if user.is_staff
        else [],
    }
    return {
        "conversation": conversation,
        "chat_data": chat_data,
        "chat_json": _json_for_script(chat_data),
        "role": role,
        "can_rate": role == "customer"
        and conversation.status == ConversationStatus.RESOLVED
        and conversation.kind == ConversationKind.SUPPORT,
        "rating": getattr(conversation, "rating", None) if conversation.is_finished else None,
    }


def _max_bytes() -> int:
    from django.conf import settings

    return settings.SUPPORT_ATTACHMENT_MAX_BYTES


def _access_or_404(request, conversation_id):
    try:
        return selectors.conversation_access(user=request.user, conversation_id=conversation_id)
    except ConversationNotFound:
        raise Http404("No such conversation.") from None


# --- customers -------------------------------------------------------------------------------


@login_required
def support_home(request):
    """The customer's conversations and a form to start one."""
    if request.user.is_staff:
        return redirect("support:console")
    conversations = list(selectors.conversations_for_customer(user=request.user)[:50])
    return render(
        request,
        "support/home.html",
        {
            "conversations": conversations,
            "is_vendor": request.user.role == User.Role.VENDOR,
        },
    )


@login_required
@require_POST
def conversation_new(request):
    """Start a support conversation (from the support page or the widget)."""
    from_widget = request.POST.get("from") == "widget"
    try:
        conversation = services.conversation_start(
            customer=request.user,
            subject=request.POST.get("subject", ""),
            body=request.POST.get("body", ""),
            client_id=request.POST.get("client_id", ""),
        )
    except DomainError as exc:
        if from_widget:
            return render(
                request,
                "support/partials/_widget_panel.html",
                {"error": str(exc), "form": request.POST},
                status=422,
            )
        flash.error(request, str(exc))
        return redirect("support:home")
    if from_widget:
        return render(
            request,
            "support/partials/_widget_panel.html",
            chat_context(conversation=conversation, user=request.user),
        )
    return redirect("support:conversation", conversation.pk)


@login_required
def conversation_detail(request, conversation_id: int):
    conversation = _access_or_404(request, conversation_id)
    if request.user.is_staff and request.user.pk not in (
        conversation.customer_id,
        conversation.vendor_id,
    ):
        return redirect(f"{reverse('support:console')}?c={conversation.pk}")
    context = chat_context(conversation=conversation, user=request.user)
    return render(request, "support/conversation.html", context)


@login_required
@require_POST
def conversation_status(request, conversation_id: int):
    """Customers end a chat or a consultation; vendors accept, start and close consultations."""
    conversation = _access_or_404(request, conversation_id)
    try:
        services.conversation_set_status(
            conversation_id=conversation.pk,
            acting_user=request.user,
            status=request.POST.get("status", ""),
            snoozed_until=_snooze_until(request.POST),
        )
    except DomainError as exc:
        if request.htmx:
            return _toast(HttpResponse(status=204), str(exc), "error")
        flash.error(request, str(exc))
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect(back_to(request, reverse("support:conversation", args=[conversation.pk])))


MAX_SNOOZE_MINUTES = 60 * 24 * 30


def _snooze_until(post):
    """The snooze end a form asks for (minutes from now, or a date and time), or None."""
    if post.get("snooze_minutes"):
        try:
            minutes = int(post["snooze_minutes"])
        except ValueError:
            raise ChatRefused("Snooze for a number of minutes.") from None
        return timezone.now() + timedelta(minutes=min(max(1, minutes), MAX_SNOOZE_MINUTES))
    if post.get("snoozed_until"):
        try:
            when = parse_datetime(post["snoozed_until"])
        except ValueError:  # well formed but no such day, like 30 February
            when = None
        if when is None:
            raise ChatRefused("Snooze until a date and time, like 2026-12-01T09:00.")
        return timezone.make_aware(when) if timezone.is_naive(when) else when
    return None


@login_required
@require_POST
def conversation_rate(request, conversation_id: int):
    conversation = _access_or_404(request, conversation_id)
    try:
        score = int(request.POST.get("score", ""))
    except ValueError:
        score = 0
    error = ""
    try:
        services.csat_submit(
            conversation=conversation,
            user=request.user,
            score=score,
            comment=request.POST.get("comment", ""),
        )
    except DomainError as exc:
        error = str(exc)
    conversation = _access_or_404(request, conversation_id)
    return render(
        request,
        "support/partials/_csat.html",
        {
            "conversation": conversation,
            "rating": getattr(conversation, "rating", None),
            "can_rate": True,
            "error": error,
            "widget": request.POST.get("widget") == "1",
        },
    )


@login_required
@require_GET
def attachment_download(request, message_id: int):
    """An attachment, for members of its conversation only (notes' files for staff only)."""
    message = Message.objects.filter(pk=message_id).exclude(attachment="").first()
    if message is None:
        raise Http404("No such file.")
    _access_or_404(request, message.conversation_id)
    if message.kind == MessageKind.NOTE and not request.user.is_staff:
        raise Http404("No such file.")
    is_image = message.attachment_type.startswith("image/")
    response = FileResponse(
        message.attachment.open("rb"),
        content_type=message.attachment_type,
        as_attachment=not is_image,
        filename=message.attachment_name,
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@login_required
@require_GET
def widget(request):
    """The chat widget's panel: the customer's open conversation, or a form to start one."""
    if request.user.is_staff:
        return render(request, "support/partials/_widget_panel.html", {"staff": True})
    conversation = None
    if request.GET.get("new") != "1":
        conversation = selectors.customer_widget_conversation(user=request.user)
    if conversation is None:
        return render(request, "support/partials/_widget_panel.html", {})
    return render(
        request,
        "support/partials/_widget_panel.html",
        chat_context(conversation=conversation, user=request.user),
    )


# --- consultations ---------------------------------------------------------------------------


@login_required
def consultation_new(request, slug: str):
    """Ask a vendor about one of their services."""
    from marketplace.selectors import service_live

    try:
        service = service_live(slug=slug)
    except DomainError:
        raise Http404("No such service.") from None
    metered = next(
        (
            plan
            for plan in service.plans.all()
            if plan.kind == "metered" and plan.metered_unit == "minute"
        ),
        None,
    )
    error = ""
    if request.method == "POST":
        try:
            conversation = services.consultation_start(
                customer=request.user,
                service_slug=slug,
                subject=request.POST.get("subject", ""),
                body=request.POST.get("body", ""),
                client_id=request.POST.get("client_id", ""),
            )
        except DomainError as exc:
            error = str(exc)
        else:
            flash.success(request, f"{service.vendor.business_name} has your request.")
            return redirect("support:conversation", conversation.pk)
    return render(
        request,
        "support/consult.html",
        {"service": service, "metered": metered, "error": error, "form": request.POST},
    )


@login_required
def vendor_inbox(request):
    """A vendor's consultations: the list, and the selected one's chat."""
    status = request.GET.get("status", "active")
    conversations = list(selectors.consultations_for_vendor(user=request.user, status=status)[:100])
    selected = None
    if request.GET.get("c"):
        selected = _access_or_404(request, request.GET["c"])
        if selected.vendor_id != request.user.pk:
            raise Http404("No such consultation.")
    elif conversations:
        selected = conversations[0]
    context = {"conversations": conversations, "status": status, "selected": selected}
    if selected is not None:
        context.update(chat_context(conversation=selected, user=request.user))
    if request.htmx and request.GET.get("partial") == "list":
        return render(request, "support/partials/_inbox_list.html", context)
    return render(request, "support/inbox.html", context)


# --- agent console ---------------------------------------------------------------------------


def _queue_filters(request) -> selectors.QueueFilters:
    view = request.GET.get("view", "mine")
    status = request.GET.get("status", "active")
    return selectors.QueueFilters(
        view=view if view in ("mine", "unassigned", "all", "consultations") else "mine",
        status=status if status in ("active", "any", *ConversationStatus.values) else "active",
        query=request.GET.get("q", "")[:80],
    )


@staff_member_required
def console(request):
    """The agent console: queue tabs, the selected conversation, its details."""
    profile = services.agent_profile_ensure(user=request.user)
    filters = _queue_filters(request)
    conversations = list(selectors.agent_queue(agent=request.user, filters=filters)[:100])
    base = f"{reverse('support:console')}?{urlencode({'view': filters.view, 'status': filters.status, 'q': filters.query})}"
    for conversation in conversations:
        conversation.href = f"{base}&c={conversation.pk}"
        conversation.pane_url = reverse("support:console_pane", args=[conversation.pk])
    selected = None
    if request.GET.get("c"):
        selected = _access_or_404(request, request.GET["c"])
    context = {
        "profile": profile,
        "filters": filters,
        "conversations": conversations,
        "counts": selectors.queue_counts(agent=request.user),
        "selected": selected,
        "tab_labels": [
            ("mine", "Mine"),
            ("unassigned", "Waiting"),
            ("all", "All"),
            ("consultations", "Consults"),
        ],
        "status_choices": [
            (value, label)
            for value, label in ConversationStatus.choices
            if value
            in (
                SUPPORT_STATUS_VALUES
                if filters.view != "consultations"
                else CONSULTATION_STATUS_VALUES
            )
        ],
        "list_url": f"{base}&partial=list",
    }
    if request.htmx and request.GET.get("partial") == "list":
        return render(request, "support/partials/_queue.html", context)
    if selected is not None:
        context.update(_pane_context(selected, request.user))
    return render(request, "support/console.html", context)


def _pane_context(conversation, user) -> dict:
    context = chat_context(conversation=conversation, user=user)
    context.update(
        {
            "agents": selectors.agents_with_load(),
            "priorities": Priority.choices,
            "support_statuses": [
                (value, label)
                for value, label in ConversationStatus.choices
                if value in ("open", "pending", "snoozed", "resolved")
            ],
            "consultation_statuses": [
                (value, label)
                for value, label in ConversationStatus.choices
                if value in ("requested", "accepted", "in_progress", "closed")
            ],
            "customer_stats": _customer_stats(conversation),
        }
    )
    return context


def _customer_stats(conversation) -> dict:
    from support.models import Conversation

    return {
        "conversations": Conversation.objects.filter(customer_id=conversation.customer_id).count(),
        "since": conversation.customer.date_joined,
    }


@staff_member_required
def console_pane(request, conversation_id: int):
    conversation = _access_or_404(request, conversation_id)
    return render(
        request, "support/partials/_console_pane.html", _pane_context(conversation, request.user)
    )


@staff_member_required
@require_POST
def console_assign(request, conversation_id: int):
    conversation = _access_or_404(request, conversation_id)
    value = request.POST.get("agent", "")
    agent = None
    if value == "me":
        agent = request.user
    elif value:
        agent = (
            User.objects.filter(pk=value, is_staff=True, is_active=True).first()
            if value.isdigit()
            else None
        )
        if agent is None:
            return _toast(HttpResponse(status=204), "Pick a staff member.", "error")
    try:
        services.conversation_assign(
            conversation_id=conversation.pk,
            agent=agent,
            acting_user=request.user,
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        return _toast(HttpResponse(status=204), str(exc), "error")
    return _toast(
        console_pane(request, conversation.pk),
        f"Assigned to {agent.display_name}" if agent else "Unassigned",
    )


@staff_member_required
@require_POST
def console_priority(request, conversation_id: int):
    conversation = _access_or_404(request, conversation_id)
    try:
        services.conversation_set_priority(
            conversation_id=conversation.pk,
            acting_user=request.user,
            priority=request.POST.get("priority", ""),
        )
    except DomainError as exc:
        return _toast(HttpResponse(status=204), str(exc), "error")
    return console_pane(request, conversation.pk)


@staff_member_required
@require_POST
def console_status(request, conversation_id: int):
    conversation = _access_or_404(request, conversation_id)
    try:
        snoozed_until = _snooze_until(request.POST)
        services.conversation_set_status(
            conversation_id=conversation.pk,
            acting_user=request.user,
            status=request.POST.get("status", ""),
            snoozed_until=snoozed_until,
        )
    except DomainError as exc:
        return _toast(HttpResponse(status=204), str(exc), "error")
    return console_pane(request, conversation.pk)


@staff_member_required
@require_POST
def console_presence(request):
    status = request.POST.get("status", "")
    try:
        profile = services.agent_set_status(user=request.user, status=status)
    except DomainError as exc:
        return _toast(HttpResponse(status=204), str(exc), "error")
    response = render(request, "support/partials/_presence.html", {"profile": profile})
    return _toast(response, f"You are {profile.get_status_display().lower()}.")


# --- notifications ---------------------------------------------------------------------------


@login_required
def notifications_page(request):
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(
        selectors.notifications_for_user(user=request.user, unread_only=unread_only), 20
    ).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.notifications_unread_count(user_id=request.user.pk),
    }
    if request.htmx and not request.htmx.boosted and request.GET.get("partial") == "list":
        return render(request, "support/partials/_notification_list.html", context)
    return render(request, "support/notifications.html", context)


@login_required
@require_GET
def bell_menu(request):
    """The bell's dropdown: the latest few notifications."""
    return _bell_menu(request)


def _bell_menu(request) -> HttpResponse:
    latest = list(selectors.notifications_for_user(user=request.user)[:8])
    return render(
        request,
        "support/partials/_bell_menu.html",
        {
            "latest": latest,
            "unread": selectors.notifications_unread_count(user_id=request.user.pk),
            "is_vendor": request.user.role == User.Role.VENDOR,
        },
    )


def _back_to_list(request) -> HttpResponse:
    if request.htmx:
        return notifications_page_partial(request)
    return redirect(back_to(request, reverse("support:notifications")))


def notifications_page_partial(request) -> HttpResponse:
    unread_only = request.POST.get("show") == "unread" or request.GET.get("show") == "unread"
    page = Paginator(
        selectors.notifications_for_user(user=request.user, unread_only=unread_only), 20
    ).get_page(request.POST.get("page") or request.GET.get("page"))
    return render(
        request,
        "support/partials/_notification_list.html",
        {"page": page, "unread_only": unread_only},
    )


@login_required
@require_POST
def notification_read(request, notification_id: int):
    try:
        notification = services.notification_mark_read(
            user=request.user, notification_id=notification_id
        )
    except DomainError:
        raise Http404("No such notification.") from None
    if request.POST.get("go") and notification.url.startswith("/"):
        if request.htmx:
            return HttpResponseClientRedirect(notification.url)
        return redirect(notification.url)
    return _back_to_list(request)


@login_required
@require_POST
def notifications_read_all(request):
    changed = services.notifications_mark_all_read(user=request.user)
    if request.POST.get("from") == "bell":
        return _bell_menu(request)
    response = _back_to_list(request)
    if request.htmx:
        _toast(response, f"Marked {changed} as read." if changed else "Nothing unread.")
    return response


@login_required
@require_POST
def notification_delete(request, notification_id: int):
    try:
        services.notification_delete(user=request.user, notification_id=notification_id)
    except DomainError:
        raise Http404("No such notification.") from None
    return _back_to_list(request)


@login_required
def notification_settings(request):
    rows = selectors.notification_preferences(user=request.user)
    if request.method == "POST":
        changes = {
            row["kind"]: {
                "in_app": request.POST.get(f"{row['kind']}-in_app") == "on",
                "email": request.POST.get(f"{row['kind']}-email") == "on",
            }
            for row in rows
        }
        services.preferences_update(user=request.user, changes=changes)
        flash.success(request, "Notification settings saved.")
        return redirect("support:notification_settings")
    return render(request, "support/notification_settings.html", {"rows": rows})
