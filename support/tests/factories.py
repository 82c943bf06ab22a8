"""Factories for support tests: people with profiles, agents, conversations."""

import factory
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from support.models import AgentProfile, AgentStatus, CannedReply


def person(
    name: str = "", *, role: str = User.Role.CUSTOMER, staff: bool = False, **kwargs
) -> User:
    """A user with a display name (customers by default; staff=True for an agent)."""
    user = UserFactory(role=User.Role.STAFF if staff else role, is_staff=staff, **kwargs)
    if name:
        user.profile.display_name = name
        user.profile.save(update_fields=["display_name"])
    return user


def agent(
    name: str = "Agent", *, status: str = AgentStatus.ONLINE, cap: int = 5, seen=True
) -> User:
    """A staff user with an agent profile: Online with a live console unless told otherwise."""
    user = person(name, staff=True)
    AgentProfile.objects.create(
        user=user,
        status=status,
        max_open=cap,
        last_seen_at=timezone.now() if seen else None,
    )
    return user


class CannedReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedReply

    shortcut = factory.Sequence(lambda n: f"reply-{n}")
    title = "Greeting"
    body = "Hi! Thanks for reaching out."
