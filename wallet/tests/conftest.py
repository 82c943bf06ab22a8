import pytest

from wallet import services
from wallet.models import AccountKind
from wallet.tests.factories import StaffFactory, UserFactory, vendor_account_for


@pytest.fixture
def clearing(db):
    return services.platform_account(AccountKind.GATEWAY_CLEARING)


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def vendor_payable(db):
    return vendor_account_for(UserFactory(role="vendor"))
