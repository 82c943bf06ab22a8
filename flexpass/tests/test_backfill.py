"""Data-migration backfills update a batch of rows at a time."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flexpass.backfill import update_in_batches

pytestmark = pytest.mark.django_db


def test_every_row_is_updated_a_batch_at_a_time():
    User = get_user_model()
    for n in range(5):
        User.objects.create(email=f"backfill-{n}@example.com", role=User.Role.CUSTOMER)
    User.objects.filter(email="backfill-0@example.com").update(role=User.Role.STAFF)

    with CaptureQueriesContext(connection) as queries:
        update_in_batches(
            User.objects.filter(role=User.Role.CUSTOMER), batch=2, role=User.Role.VENDOR
        )

    roles = dict(User.objects.values_list("email", "role"))
    assert roles == {
        "backfill-0@example.com": "staff",
        **{f"backfill-{n}@example.com": "vendor" for n in range(1, 5)},
    }
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 2  # four rows to fill, two per batch
