import pytest

from accounts.tests.fake_google import GoogleSigningKey


@pytest.fixture(scope="session")
def google_key() -> GoogleSigningKey:
    return GoogleSigningKey()
