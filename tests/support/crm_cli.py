"""Checks a ``crm`` command line the way the CLI would parse it, without running it: deployment
files (compose, Kubernetes, the Dockerfile) name commands and contexts that must exist."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from crm.platform.bootstrap import context_named
from crm.platform.cli import SERVE_CONSOLE, app

COMMANDS_TAKING_A_CONTEXT = {("serve",), ("relay",), ("worker",)}


class Refused(Exception):
    """The CLI would refuse these arguments. (Typer 0.29 vendors click privately, so its
    own usage error is not importable: every refusal is reported as this.)"""


def parse(args: Sequence[str]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The subcommand path and its parsed parameters, or ``Refused`` with the reason: an
    unknown command, a missing or extra argument, or a context that does not exist."""
    command: Any = typer.main.get_command(app)
    ctx = command.context_class(command, info_name="crm")
    path: list[str] = []
    rest = list(args)
    while hasattr(command, "list_commands"):
        if not rest:
            raise Refused(f"`crm {' '.join(path)}` needs a subcommand")
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            raise Refused(f"no command `crm {' '.join([*path, rest[0]])}`")
        path.append(rest.pop(0))
        command = sub
        ctx = command.context_class(command, info_name=path[-1], parent=ctx)
    try:
        params: dict[str, Any] = command.make_context(path[-1], rest, parent=ctx.parent).params
        console = tuple(path) == ("serve",) and params["context"] == SERVE_CONSOLE
        if tuple(path) in COMMANDS_TAKING_A_CONTEXT and not console:
            context_named(params["context"])
    except Exception as e:  # the vendored click's UsageError, or KeyError from context_named
        raise Refused(f"crm {' '.join(args)}: {e}") from e
    return tuple(path), params
