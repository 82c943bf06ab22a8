"""Who answers: round-robin under each agent's cap and presence, manual assignment, the backlog."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from support import services
from support.errors import NotAllowed
from support.models import AgentProfile, AuditLog, Conversation
from support.tests.factories import agent, person

pytestmark = pytest.mark.django_db


def ask(customer=None, subject="Help"):
    return services.conversation_start(customer=customer or person(), subject=subject, body="Hi")


def assignees(conversations) -> list:
    ids = [c.pk for c in conversations]
    found = dict(Conversation.objects.filter(pk__in=ids).values_list("pk", "assignee_id"))
    return [found[pk] for pk in ids]


def test_round_robin_takes_turns_among_online_agents():
    # Given two online agents with live consoles
    anna, bala = agent("Anna"), agent("Bala")

    # When four customers ask
    conversations = [ask() for _ in range(4)]

    # Then they alternate
    assert assignees(conversations) == [anna.pk, bala.pk, anna.pk, bala.pk]


def test_round_robin_respects_each_agents_cap():
    # Given Anna may hold one open conversation, Bala three
    anna, bala = agent("Anna", cap=1), agent("Bala", cap=3)

    # When five customers ask
    conversations = [ask() for _ in range(5)]

    # Then Anna takes one, Bala three, the fifth waits
    assert assignees(conversations) == [anna.pk, bala.pk, bala.pk, bala.pk, None]


def test_resolving_frees_a_slot_for_the_next_one():
    # Given Anna at her cap of one
    anna = agent("Anna", cap=1)
    first = ask()
    waiting = ask()
    assert assignees([first, waiting]) == [anna.pk, None]

    # When she resolves the first and the backlog job runs
    services.conversation_set_status(conversation_id=first.pk, acting_user=anna, status="resolved")
    assigned = services.conversations_assign_backlog()

    # Then the waiting one is hers
    assert assigned == 1
    assert assignees([waiting]) == [anna.pk]


@pytest.mark.parametrize(
    ("status", "seen_seconds_ago"),
    [("busy", 0), ("offline", 0), ("online", 3600)],
    ids=["busy", "offline", "online-but-console-closed"],
)
def test_unavailable_agents_get_nothing_automatically(status, seen_seconds_ago):
    # Given the only agent is busy, offline, or online with no console open for an hour
    agent("Anna", status=status)
    AgentProfile.objects.update(last_seen_at=timezone.now() - timedelta(seconds=seen_seconds_ago))

    # When a customer asks
    conversation = ask()

    # Then it waits for someone
    assert assignees([conversation]) == [None]


def test_going_online_picks_up_the_waiting_conversations_oldest_first():
    # Given two waiting conversations and an offline agent with room for one
    older, newer = ask(subject="older"), ask(subject="newer")
    anna = agent("Anna", status="offline", cap=1)

    # When she goes online
    services.agent_set_status(user=anna, status="online")

    # Then she gets the older one
    assert assignees([older, newer]) == [anna.pk, None]


def test_manual_assignment_can_overrule_the_cap_and_is_audited():
    # Given Anna at her cap, and a lead
    anna = agent("Anna", cap=1)
    ask()
    extra = ask()
    lead = agent("Lead", status="offline")

    # When the lead gives her the extra one anyway
    services.conversation_assign(
        conversation_id=extra.pk, agent=anna, acting_user=lead, reason="she knows this customer"
    )

    # Then it is hers, with an audit row and a line in the conversation
    assert assignees([extra]) == [anna.pk]
    audit = AuditLog.objects.get(action="conversation_assign")
    assert (audit.actor_id, audit.target, audit.reason, audit.data) == (
        lead.pk,
        f"conversation #{extra.pk}",
        "she knows this customer",
        {"from": None, "to": anna.pk},
    )
    assert extra.messages.order_by("-id").first().body == "Lead assigned the conversation to Anna"


def test_only_staff_assign_and_only_to_staff():
    conversation = ask()
    customer = person("Asha")
    with pytest.raises(NotAllowed):
        services.conversation_assign(
            conversation_id=conversation.pk, agent=None, acting_user=customer
        )
    with pytest.raises(NotAllowed):
        services.conversation_assign(
            conversation_id=conversation.pk, agent=customer, acting_user=agent("Lead")
        )
    assert AuditLog.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_conversations_at_once_cannot_both_take_the_last_free_slot():
    # Given one agent with one free slot and two conversations waiting
    assert connection.vendor == "postgresql", "this race is proven on PostgreSQL's row locks"
    agent("Anna", cap=1)
    first, second = ask(), ask()
    Conversation.objects.update(assignee=None)  # both waiting
    barrier = threading.Barrier(2)
    results = []

    def assign(conversation_id):
        barrier.wait()
        try:
            results.append(services.conversation_auto_assign(conversation_id=conversation_id))
        finally:
            connection.close()

    # When both are auto-assigned in parallel
    threads = [threading.Thread(target=assign, args=(c.pk,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then exactly one got her
    assert sorted(result is not None for result in results) == [False, True]
    assert Conversation.objects.filter(assignee__isnull=False).count() == 1
