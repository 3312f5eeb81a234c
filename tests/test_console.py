"""What reaches the console: Prefect's failure records stay off it (the command line says the failure
once), other warnings and errors do not; a silent run says it is still going; kernel folders of gone
processes are swept."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from pipeline import console
from pipeline.render import sweep_kernel_folders


def _record(name: str, level: int, message: str, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            info = sys.exc_info()
    return logging.LogRecord(name, level, __file__, 1, message, None, info)


def test_prefect_failure_records_stay_off_a_quiet_console_and_other_problems_do_not():
    keep = console._keep
    assert not keep(_record("prefect.task_runs", logging.ERROR, "Task run failed with exception: X", exc=True))
    assert not keep(_record("prefect.flow_runs", logging.ERROR, "Finished in state Failed('Flow run failed')"))
    assert not keep(_record("prefect.flow_runs", logging.INFO, "Beginning flow run"))
    assert keep(_record("prefect.flow_runs", logging.ERROR, "Could not write a result"))  # not the failure
    assert keep(_record("prefect.server", logging.WARNING, "the database is locked"))
    assert keep(_record("pipeline.flows", logging.INFO, "dedup: 5 articles"))
    assert keep(_record("pipeline.flows", logging.ERROR, "rejected x.txt", exc=True))


def test_a_silent_run_says_it_is_still_going(caplog):
    caplog.set_level(logging.INFO, logger="pipeline")
    with console.heartbeat(every=0.2):
        deadline = time.monotonic() + 10
        while "still running" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "still running" in caplog.text
    said = caplog.text.count("still running")
    time.sleep(0.5)
    assert caplog.text.count("still running") == said  # it stops with the block


def test_a_busy_run_has_no_heartbeat_lines(caplog):
    caplog.set_level(logging.INFO, logger="pipeline")
    log = logging.getLogger("pipeline.flows")
    with console.heartbeat(every=1.0):
        for _ in range(10):
            log.info("progress")
            time.sleep(0.1)
    assert "still running" not in caplog.text


def test_kernel_folders_of_gone_processes_are_swept_and_live_ones_kept(tmp_path: Path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    dead = tmp_path / f"pipeline-kernel-{dead_pid}-abc"
    live = tmp_path / f"pipeline-kernel-{os.getpid()}-def"
    other = tmp_path / "pipeline-kernel-notapid"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "kernel.json").write_text("{}", encoding="utf-8")
    assert sweep_kernel_folders(tmp_path) == [dead]
    assert not dead.exists() and live.is_dir() and other.is_dir()
