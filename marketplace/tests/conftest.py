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
