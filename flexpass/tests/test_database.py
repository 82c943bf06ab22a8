"""Full mode's PostgreSQL connection: statements repeated on a connection are prepared."""

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _prepared_on_this_connection() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return cursor.fetchone()[0]


def test_a_query_run_past_the_threshold_is_planned_once_and_reused():
    user = UserFactory()
    before = _prepared_on_this_connection()

    threshold = settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold") or 5
    for _ in range(threshold + 1):
        assert User.objects.filter(pk=user.pk, email=user.email).exists()

    # PostgreSQL now holds a plan for it, reused by every later run on this connection
    assert _prepared_on_this_connection() > before
