import pytest

from accounts.tests.factories import UserFactory
from marketplace.tests.factories import PlanFactory, fund


@pytest.fixture
def buyer(db):
    return UserFactory(email="buyer@example.com")


@pytest.fixture
def plan(db):
    """A live service's ₹49 day pass."""
    return PlanFactory(service__name="ImageGen Pro", service__slug="imagegen-pro")


@pytest.fixture
def funded_buyer(buyer):
    fund(buyer, 10_000)  # ₹100
    return buyer


DOMAIN_TABLES = ("marketplace_", "wallet_", "billing_")


class QueryBudget:
    def __init__(self, ctx):
        self.ctx = ctx

    @property
    def domain(self) -> list[str]:
        return [
            q["sql"] for q in self.ctx.captured_queries if any(t in q["sql"] for t in DOMAIN_TABLES)
        ]

    @property
    def total(self) -> int:
        return len(self.ctx.captured_queries)


@pytest.fixture
def assert_domain_queries():
    """Exactly `n` queries on marketplace/wallet/billing tables inside the block.

    Sessions, users and whatever other apps' middleware reads per request are
    not ours to count; pair this with a many-vs-few comparison of the total
    (see `count_queries`) to prove there is no N+1.
    """
    from contextlib import contextmanager

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    @contextmanager
    def check(n: int):
        with CaptureQueriesContext(connection) as ctx:
            budget = QueryBudget(ctx)
            yield budget
        assert len(budget.domain) == n, "\n".join(budget.domain)

    return check
