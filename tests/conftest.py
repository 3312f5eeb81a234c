"""Shared fixtures: the seed articles, the gold answers, a Prefect test server."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
GOLD_DIR = Path(__file__).resolve().parent / "gold"


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One temporary Prefect API server (and database) for every test that runs a flow."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of the seed articles, safe to add to, edit and delete from."""
    dest = tmp_path / "seeds"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.fixture(scope="session")
def gold() -> list[dict[str, Any]]:
    return json.loads((GOLD_DIR / "seeds.gold.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def scorer() -> ModuleType:
    """The gold scorer (tests/gold/score.py), the same one used on the held-out articles."""
    spec = importlib.util.spec_from_file_location("gold_score", GOLD_DIR / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def seed_run(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> tuple[Any, Path]:
    """One run of the real flow, reports included, on a copy of the seeds; shared by the end-to-end tests."""
    from pipeline.flows import news_pipeline

    root = tmp_path_factory.mktemp("seed_run")
    shutil.copytree(SEEDS, root / "seeds")
    summary = news_pipeline(seeds_dir=root / "seeds", out_dir=root / "out", reports=True)
    return summary, root / "out"


@contextlib.contextmanager
def lock_held_elsewhere(out_dir: Path) -> Iterator[None]:
    """While open, another thread holds the output lock of ``out_dir`` (as a second run would)."""
    import threading

    from pipeline import io

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with io.output_lock(out_dir):
            held.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()


def run_python(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Any:
    """``python ARGS`` in a fresh process (this interpreter), its output captured as text; the
    environment is this one's without a Prefect server address (the process starts its own), plus ``env``."""
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "PIPELINE_NOTEBOOKS"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=300
    )


#: Columns two runs on the same files may differ in: first-seen times and the run that wrote a file.
VOLATILE = {"ingested_at", "seen_at", "run_id"}


def comparable_tables(out: Path) -> dict[str, Any]:
    """Every table made from the inputs (not the run log, which is the history of the runs), without the
    columns of :data:`VOLATILE`: equal for two runs that should give the same datasets."""
    import pyarrow.parquet as pq

    from pipeline import schemas

    found = {}
    for table in [t for t in schemas.TABLES if t != "runs"]:
        data = pq.read_table(out / "datasets" / table)
        found[table] = data.drop_columns([c for c in data.column_names if c in VOLATILE])
    return found
