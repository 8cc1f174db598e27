"""The web console: server-rendered pages over the contexts' application layer, in English
and Chinese, for the users of a tenant's user directory (:mod:`crm.console.users`).

The user directory's events are the published language's (:mod:`crm.events.users`).

``install_console`` and ``register_user_commands`` are loaded when first asked for: a module
that needs only the console's domain (``crm.console.domain.users``, as the imports do) does not
load every page, and so does not come back round to the imports through them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm.console.install import install_console, register_user_commands

__all__ = ["install_console", "register_user_commands"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from crm.console import install

        return getattr(install, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
