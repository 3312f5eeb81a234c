"""No process outlives a run: signals end the run cleanly, and a watchdog cleans up after a kill.

A run starts processes it does not fully control: Prefect's embedded API server, the batch
workers, multiprocessing's resource tracker. SIGTERM and SIGINT become exceptions in the main
thread, so the code that started those processes stops them on the way out. ``kill -9`` leaves no
way out, so :func:`guard` also starts a small watchdog process first (``python -m pipeline.procs
PID``, in a session of its own): it notes the run's descendants twice a second and, once the run is
gone, stops whatever of them is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from types import FrameType

#: How often the watchdog looks at the run's processes, in seconds.
POLL = 0.5
#: How long a leftover process gets to exit after SIGTERM before it is killed.
GRACE = 3.0

_guarded = False


class Stopped(SystemExit):
    """The run was asked to stop by a signal (exit status 128 + the signal's number)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(128 + signum)


def guard() -> None:
    """Call once, first thing, in a process that will run the pipeline (the command line does)."""
    global _guarded
    if _guarded:
        return
    _guarded = True
    for sig in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # a run started in the background keeps ignoring Ctrl-C
            signal.signal(sig, _stop)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            subprocess.Popen(
                [sys.executable, "-m", "pipeline.procs", str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # no signal meant for the run's terminal or group stops it first
                close_fds=True,
            )


def _watch(parent: int) -> None:
    import psutil

    me = os.getpid()
    try:
        run = psutil.Process(parent)
    except psutil.Error:
        return
    seen: dict[int, psutil.Process] = {}
    while True:
        try:
            for child in run.children(recursive=True):
                if child.pid != me:
                    seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
        if not run.is_running() or os.getppid() != parent:
            break
        for pid in [p for p, proc in seen.items() if not proc.is_running()]:
            del seen[pid]
        time.sleep(POLL)
    # The run is gone: stop what it left (is_running() also checks the start time, so a reused pid is safe).
    left = [p for p in seen.values() if p.is_running()]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=GRACE)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch(int(sys.argv[1]))
