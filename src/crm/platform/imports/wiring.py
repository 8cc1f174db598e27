"""Puts the import's command table on a runtime's command bus, once per runtime (the app
and ``crm import`` both call it; a platform may build more than one app)."""

from __future__ import annotations

from contextlib import suppress

from crm.kernel.runtime import Runtime
from crm.platform.imports.record import import_commands


def with_imports(runtime: Runtime) -> Runtime:
    # "registered twice": this runtime's bus has the table already
    with suppress(ValueError):
        runtime.commands.register(import_commands())
    return runtime
