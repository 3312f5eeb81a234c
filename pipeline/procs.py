"""No process outlives a run: signals end the run cleanly, and a watchdog cleans up after a kill.

A run starts processes it does not fully control: Prefect's embedded API server, the batch
workers, multiprocessing's resource tracker. SIGTERM and SIGINT become exceptions in the main
thread, so the code that started those processes stops them on the way out. ``kill -9`` leaves no
way out, so :func:`guard` also forks a small watchdog before anything else starts: it notes the
run's descendants twice a second and, once the run is gone, stops whatever of them is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
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
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if sys.platform.startswith("linux"):
        _start_watchdog()


def _start_watchdog() -> None:
    parent = os.getpid()
    try:
        pid = os.fork()  # before any thread exists, so the fork is safe
    except OSError:
        return
    if pid:
        return
    # The watchdog: no signal of the run's terminal should stop it before it has cleaned up.
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setsid()  # out of the run's process group, so a signal to the group does not reach it
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # let go of the run's terminal or pipes: a reader waiting for EOF must get it
            os.dup2(null, fd)
        _watch(parent)
    finally:
        os._exit(0)


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
