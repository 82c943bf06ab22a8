import pytest


@pytest.fixture(autouse=True)
def _attachments_root(tmp_path, settings):
    """Attachments go to a temporary private folder in every support test."""
    settings.SUPPORT_ATTACHMENTS_ROOT = str(tmp_path / "private")
