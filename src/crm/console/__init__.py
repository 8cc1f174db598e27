"""The web console: server-rendered pages over the contexts' application layer, in English
and Chinese, for the users of a tenant's user directory (:mod:`crm.console.users`).

Importing it registers the user directory's events (:mod:`crm.console.events`)."""

from crm.console import events as events
from crm.console.install import install_console, register_user_commands

__all__ = ["install_console", "register_user_commands"]
