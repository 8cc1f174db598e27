"""Where a local deployment keeps its data, found the same way by every ``crm`` command, and
the exact command line that reaches it.

``crm up`` (what ``make run`` starts) keeps the embedded stores and the token secret in
``CRM_DATA_DIR``, by default ``.crm-data`` of the directory it was started in. A command run
later in another terminal (``crm token``, ``crm tenants``, ``crm projections``) must find
that same directory, or it would sign with another secret (tokens the platform refuses:
401 "Signature verification failed") or open empty stores beside the real ones. So, with
``CRM_DATA_DIR`` unset, they look for ``.crm-data`` in the current directory and then in
each parent (as git looks for ``.git``), and refuse, saying where they looked, if there is
none; they never create one.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from crm.kernel.auth import SECRET_FILE
from crm.kernel.settings import Settings

MARKERS = (SECRET_FILE, "events.db")
"""Files that make a directory a deployment's data directory."""

SHARED = ("CRM_SECRET", "CRM_EVENT_STORE", "CRM_READ_STORE", "CRM_KEY_STORE")
"""Settings another command must have as the platform has them (never printed)."""


class NoDeployment(Exception):
    """No data directory of a deployment where the settings point, nor above."""

    def __init__(self, looked_in: list[Path], data_dir_set: bool) -> None:
        self.looked_in = looked_in
        where = ", ".join(str(p) for p in looked_in[:3]) + (" …" if len(looked_in) > 3 else "")
        hint = (
            "CRM_DATA_DIR names no platform's data"
            if data_dir_set
            else "start the platform first (`make run`, or `crm up`), or run this from the"
            " directory it was started in, or set CRM_DATA_DIR to its data directory"
        )
        super().__init__(f"no platform data (no {SECRET_FILE}) in {where}: {hint}")


def uses_data_dir(settings: Settings) -> bool:
    """Whether anything of this deployment lives in the data directory (an embedded store,
    or the token secret)."""
    return settings.secret is None or None in (
        settings.event_store,
        settings.read_store,
        settings.key_store,
    )


def existing_deployment(settings: Settings, *, cwd: Path | None = None) -> Settings:
    """``settings`` pointing at the data directory of a deployment that exists: as set by
    ``CRM_DATA_DIR``, else ``.crm-data`` of ``cwd`` or of its nearest parent holding one;
    NoDeployment if there is none (nothing is created)."""
    if not uses_data_dir(settings):
        return settings
    here = (cwd or Path.cwd()).absolute()
    if "data_dir" in settings.model_fields_set or settings.data_dir.is_absolute():
        candidates = [here / settings.data_dir]
        data_dir_set = True
    else:
        candidates = [d / settings.data_dir for d in (here, *here.parents)]
        data_dir_set = False
    for candidate in candidates:
        if any((candidate / marker).exists() for marker in MARKERS):
            return settings.model_copy(update={"data_dir": candidate})
    raise NoDeployment(candidates, data_dir_set)


def crm_executable(*, cwd: Path | None = None) -> str:
    """How to call this very ``crm`` from ``cwd``: ``crm`` if that is what the shell finds,
    else its path relative to ``cwd`` (``.venv/bin/crm``), else its absolute path."""
    here = (cwd or Path.cwd()).absolute()
    argv0 = Path(sys.argv[0])
    exe = argv0 if argv0.name == "crm" else Path(sys.executable).parent / "crm"
    exe = exe if exe.is_absolute() else here / exe
    on_path = shutil.which("crm")
    if on_path is not None and Path(on_path).absolute() == exe:
        return "crm"
    try:
        return exe.relative_to(here).as_posix()
    except ValueError:
        return str(exe)


def command_line(settings: Settings, *args: str, cwd: Path | None = None) -> str:
    """The command that runs ``crm ARGS`` on this deployment from ``cwd``, in another
    terminal: with ``CRM_DATA_DIR`` only if the default would not find this data directory
    (and the settings it must share, such as ``CRM_SECRET``, named but never printed)."""
    here = (cwd or Path.cwd()).absolute()
    prefix = []
    if uses_data_dir(settings):
        data_dir = (here / settings.data_dir).absolute()
        if data_dir != here / Settings.model_fields["data_dir"].default:
            prefix.append(f"CRM_DATA_DIR={shlex.quote(str(data_dir))}")
    line = " ".join([*prefix, crm_executable(cwd=here), *(shlex.quote(a) for a in args)])
    shared = [name for name in SHARED if name in os.environ]
    if shared:
        line += f"  (with the same {', '.join(shared)})"
    return line
