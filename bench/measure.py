"""What every benchmark group shares: figures with their samples and peer, repetition with
warm-up, memory peaks, and the machine the figures were taken on.

A figure is never printed alone: each names a peer (another figure of the same run, measured
alternately with it on the same machine) and the table shows the ratio between the two.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measured quantity: its samples (one per repetition, warm-up excluded)."""

    key: str
    """``group.name``, the key in the JSON output."""
    label: str
    unit: str
    samples: list[float] = field(default_factory=list)
    peers: tuple[str, ...] = ()
    """Keys of the figures this one is compared with (each ratio is ``median / peer median``)."""
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def low(self) -> float:
        return min(self.samples) if self.samples else math.nan

    @property
    def high(self) -> float:
        return max(self.samples) if self.samples else math.nan


class Results:
    """The figures of one run, in the order they were declared."""

    def __init__(self) -> None:
        self.figures: dict[str, Figure] = {}

    def figure(
        self, key: str, label: str, unit: str, *, peers: tuple[str, ...] = (), note: str = ""
    ) -> Figure:
        if key not in self.figures:
            self.figures[key] = Figure(key, label, unit, peers=peers, note=note)
        return self.figures[key]

    def ratios(self, fig: Figure) -> dict[str, float]:
        """``median / peer median`` for each peer measured in this run."""
        out: dict[str, float] = {}
        for key in fig.peers:
            peer = self.figures.get(key)
            if peer is not None and peer.samples and peer.median:
                out[key] = fig.median / peer.median
        return out

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, fig in self.figures.items():
            out[key] = {
                "label": fig.label,
                "unit": fig.unit,
                "median": fig.median,
                "min": fig.low,
                "max": fig.high,
                "samples": fig.samples,
                "ratios": self.ratios(fig),
                "note": fig.note,
            }
        return out


Step = Callable[[str], None]
"""Reports one step of a group's work to the progress display (on stderr)."""


@dataclass(frozen=True)
class Plan:
    """How much to do: ``quick`` is the smoke run (tiny sizes, two repetitions)."""

    quick: bool
    repetitions: int

    def size(self, default: int, quick: int) -> int:
        return quick if self.quick else default


def timed(fn: Callable[[], object]) -> float:
    """Seconds taken by ``fn()``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


async def timed_async(fn: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100), nearest rank: with few values it is the largest."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory on the same disk as the default temporary directory; fsync costs
    what it costs there (on tmpfs figures would be meaningless: checked in :func:`machine`)."""
    with tempfile.TemporaryDirectory(prefix=f"crm-bench-{prefix}-") as d:
        yield Path(d)


class TracedPeak:
    """Peak of Python allocations (tracemalloc) inside the block, in MiB. Tracing slows
    Python code down severalfold, so it runs on a separate repetition, never a timed one."""

    def __init__(self) -> None:
        self.mib = math.nan

    def __enter__(self) -> TracedPeak:
        tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        self.mib = (peak - self._base) / (1 << 20)


def max_rss_mib() -> float:
    """This process's peak resident set so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_peak_rss_mib(pid: int) -> float:
    """Peak resident set (VmHWM) of a running process, from /proc; NaN where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def filesystem_of(path: Path) -> str:
    """The filesystem type holding ``path`` (from /proc/mounts; '?' elsewhere)."""
    try:
        best = ("", "?")
        resolved = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if resolved.startswith(mount) and len(mount) > len(best[0]):
                best = (mount, fstype)
        return best[1]
    except OSError:
        return "?"


def machine() -> dict[str, Any]:
    """What the figures depend on, written next to them."""
    cpu_model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "scratch_filesystem": filesystem_of(Path(tempfile.gettempdir())),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
