"""Who answers: manual assignment, and round-robin that respects each agent's cap and presence.

Round-robin picks, among agents who chose Online and whose console was seen
within SUPPORT_PRESENCE_SECONDS, the one assigned least recently, skipping
anyone already holding `max_open` active conversations. Busy agents get no new
conversations automatically but can still be assigned by hand (a lead may
overrule the cap). The candidate agents' rows are locked in pk order before
their loads are counted, so two conversations assigned at the same moment
cannot both take an agent's last free slot.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from support.errors import ChatRefused, ConversationNotFound, NotAllowed
from support.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    AgentStatus,
    AuditLog,
    Conversation,
    ConversationKind,
    ConversationStatus,
)
from support.services.chat import _broadcast_conversation, _system_message

_AUTO_STATUSES = (ConversationStatus.OPEN, ConversationStatus.PENDING)


def agent_profile_ensure(*, user) -> AgentProfile:
    if not user.is_staff:
        raise NotAllowed("Only staff members can answer support chats.")
    profile, _ = AgentProfile.objects.get_or_create(
        user=user, defaults={"max_open": settings.SUPPORT_AGENT_DEFAULT_CAP}
    )
    return profile


def agent_touch(*, user_id: int, now=None) -> None:
    """The agent's console is open (its socket connected or pinged)."""
    now = now or timezone.now()
    AgentProfile.objects.filter(
        user_id=user_id, last_seen_at__lt=now - timedelta(seconds=15)
    ).update(last_seen_at=now)
    AgentProfile.objects.filter(user_id=user_id, last_seen_at__isnull=True).update(last_seen_at=now)


def agent_set_status(*, user, status: str, now=None) -> AgentProfile:
    """An agent goes Online, Busy or Offline. Going Online picks up waiting conversations."""
    if status not in AgentStatus.values:
        raise ChatRefused(f"Status must be one of {', '.join(AgentStatus.values)}.")
    now = now or timezone.now()
    profile = agent_profile_ensure(user=user)
    AgentProfile.objects.filter(pk=profile.pk).update(
        status=status, status_changed_at=now, last_seen_at=now
    )
    profile.refresh_from_db()
    if status == AgentStatus.ONLINE:
        conversations_assign_backlog(now=now)
    return profile


def _available_agents(now) -> list[AgentProfile]:
    """Online agents with a live console, locked in pk order (call inside a transaction)."""
    return list(
        AgentProfile.objects.filter(
            status=AgentStatus.ONLINE,
            last_seen_at__gte=now - timedelta(seconds=settings.SUPPORT_PRESENCE_SECONDS),
            user__is_active=True,
            user__is_staff=True,
        )
        .select_related("user__profile")
        .order_by("pk")
        .select_for_update(of=("self",))
    )


def _loads(user_ids: list[int]) -> dict[int, int]:
    return dict(
        Conversation.objects.filter(
            assignee_id__in=user_ids,
            status__in=ACTIVE_STATUSES,
            kind=ConversationKind.SUPPORT,
        )
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )


def conversation_auto_assign(*, conversation_id: int, now=None):
    """Round-robin: give an unassigned open conversation to the next free agent.

    Returns the agent's user, or None (already assigned, not waiting, or nobody free).
    """
    now = now or timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .filter(
                pk=conversation_id,
                kind=ConversationKind.SUPPORT,
                status__in=_AUTO_STATUSES,
                assignee__isnull=True,
            )
            .first()
        )
        if conversation is None:
            return None
        agents = _available_agents(now)
        loads = _loads([agent.user_id for agent in agents])
        free = [agent for agent in agents if loads.get(agent.user_id, 0) < agent.max_open]
        if not free:
            return None
        epoch = now - timedelta(days=36500)
        chosen = min(free, key=lambda agent: (agent.last_assigned_at or epoch, agent.pk))
        Conversation.objects.filter(pk=conversation.pk).update(
            assignee_id=chosen.user_id, updated_at=now
        )
        AgentProfile.objects.filter(pk=chosen.pk).update(last_assigned_at=now)
        agent_user = chosen.user
        _system_message(conversation, f"Assigned to {agent_user.display_name}")
        _broadcast_conversation(conversation.pk, "assigned")
    return agent_user


def conversations_assign_backlog(*, now=None, limit: int = 200) -> int:
    """Hand waiting (unassigned, open) conversations to free agents, oldest first."""
    now = now or timezone.now()
    waiting = list(
        Conversation.objects.filter(
            kind=ConversationKind.SUPPORT, status__in=_AUTO_STATUSES, assignee__isnull=True
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    assigned = 0
    for conversation_id in waiting:
        if conversation_auto_assign(conversation_id=conversation_id, now=now) is None:
            # Nobody free for this one means nobody free for the next one either,
            # unless this one was taken meanwhile: check once more cheaply.
            if not Conversation.objects.filter(pk=conversation_id, assignee__isnull=True).exists():
                continue
            break
        assigned += 1
    return assigned


def conversation_assign(
    *, conversation_id: int, agent, acting_user, reason: str = ""
) -> Conversation:
    """Staff hand a conversation to `agent` (a staff user) or unassign it (agent=None).

    Manual assignment may exceed the agent's cap: a lead can overrule it.
    Leaves an audit row and a line in the conversation.
    """
    from support.services.chat import _loaded

    if acting_user is None or not acting_user.is_staff:
        raise NotAllowed("Only staff can assign conversations.")
    if agent is not None:
        agent_profile_ensure(user=agent)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
        if conversation is None:
            raise ConversationNotFound("No such conversation.")
        if conversation.assignee_id == (agent.pk if agent else None):
            return _loaded(conversation_id)
        now = timezone.now()
        Conversation.objects.filter(pk=conversation.pk).update(assignee=agent, updated_at=now)
        if agent is not None:
            AgentProfile.objects.filter(user=agent).update(last_assigned_at=now)
        by = acting_user.display_name
        if agent is None:
            text = f"{by} unassigned the conversation"
        elif agent.pk == acting_user.pk:
            text = f"{by} took the conversation"
        else:
            text = f"{by} assigned the conversation to {agent.display_name}"
        _system_message(conversation, text, actor=acting_user)
        AuditLog.objects.create(
            actor=acting_user,
            action="conversation_assign",
            target=f"conversation #{conversation.pk}",
            reason=reason[:300],
            data={"from": conversation.assignee_id, "to": agent.pk if agent else None},
        )
        _broadcast_conversation(conversation.pk, "assigned")
    return _loaded(conversation_id)


def conversations_wake_snoozed(*, now=None) -> int:
    """Snoozed conversations whose time has come are open again."""
    now = now or timezone.now()
    due = list(
        Conversation.objects.filter(
            status=ConversationStatus.SNOOZED, snoozed_until__isnull=False, snoozed_until__lte=now
        ).values_list("pk", flat=True)[:500]
    )
    woken = 0
    for conversation_id in due:
        with transaction.atomic():
            if Conversation.objects.filter(
                pk=conversation_id, status=ConversationStatus.SNOOZED, snoozed_until__lte=now
            ).update(status=ConversationStatus.OPEN, snoozed_until=None, updated_at=now):
                conversation = Conversation.objects.get(pk=conversation_id)
                _system_message(conversation, "The snooze ended: the conversation is open again")
                _broadcast_conversation(conversation_id, "status")
                woken += 1
    return woken
