"""Where chat attachments live: outside MEDIA_ROOT (served publicly), read through a view."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateAttachmentStorage(FileSystemStorage):
    """A file system storage rooted at SUPPORT_ATTACHMENTS_ROOT, read at use time.

    It has no base URL: files are only reachable through
    support.views.attachment_download, which checks conversation membership.
    """

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return settings.SUPPORT_ATTACHMENTS_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Support attachments have no public URL; use the download view.")


attachment_storage = PrivateAttachmentStorage()


def get_attachment_storage() -> PrivateAttachmentStorage:
    """The FileField's storage (a callable, so migrations name this function, not a path)."""
    return attachment_storage
