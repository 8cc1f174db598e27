"""The HTTP conventions every service shares: authentication, idempotent commands that answer
with their position, reads that wait for that position, and errors that name what is wrong."""

from crm.kernel.http.commands import CommandAccepted, Commands, accepted
from crm.kernel.http.consistency import ReadConsistency
from crm.kernel.http.errors import install_error_handlers
from crm.kernel.http.params import PageOf, checked_sort, if_match, paged
from crm.kernel.http.security import Authenticator

__all__ = [
    "Authenticator",
    "CommandAccepted",
    "Commands",
    "PageOf",
    "ReadConsistency",
    "accepted",
    "checked_sort",
    "if_match",
    "install_error_handlers",
    "paged",
]
