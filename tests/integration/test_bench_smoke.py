"""`python -m bench --quick --repetitions 1` as `make bench` runs it (from the repository root,
a process of its own): every group finishes, and every figure it declares was measured,
positive and finite, with the machine it was measured on. One timed repetition, not the quick
run's two: every group's code runs end to end all the same, in about two thirds of the time.
About a minute on 2 cores, Tansu and the four pipeline
processes included; deselect with ``-m "not bench"``."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import GROUPS
from bench.measure import Results

pytestmark = [pytest.mark.integration, pytest.mark.bench]

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, tuple[str, ...]]:
    """Every figure the groups declare, with its peers."""
    results = Results()
    for module in GROUPS.values():
        importlib.import_module(module).declare(results)
    return {key: fig.peers for key, fig in results.figures.items()}


def test_quick_run_measures_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--repetitions", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # a guard against a hang, not a measure: a loaded machine took 5 min
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(out.read_text())

    machine = report["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["sqlite"].count(".") == 2
    assert machine["failed_groups"] == []
    assert machine["quick"] is True

    figures = report["figures"]
    expected = declared()
    assert set(figures) == set(expected)
    for key, peers in expected.items():
        fig = figures[key]
        assert fig["samples"], key
        for value in (*fig["samples"], fig["median"], fig["min"], fig["max"]):
            assert math.isfinite(value), key
            assert value > 0, key
        assert set(fig["ratios"]) == set(peers), key
        assert all(math.isfinite(r) and r > 0 for r in fig["ratios"].values()), key
    # the results table, with a ratio, went to stdout; progress to stderr
    assert "raw_bulk" in done.stdout
    assert "x eventsourcing_single" in done.stdout
