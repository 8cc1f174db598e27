"""The web console: server-rendered pages over the contexts' application layer, in English
and Chinese, for the users of a tenant's user directory (:mod:`crm.console.users`).

The user directory's events are the published language's (:mod:`crm.events.users`)."""

from crm.console.install import install_console, register_user_commands

__all__ = ["install_console", "register_user_commands"]
