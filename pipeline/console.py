"""What the console shows of a run: a line per stage, progress, and the summary; not Prefect's and Dask's
own informational lines (server, flow and task states; workers, clients and comms starting and closing).
Prefect's still go to the Prefect API, so the UI shows them; warnings still print. A flow or task run
that fails is said once, by the command line, in one line (its traceback goes to ``OUT/logs``), not
again as Prefect's own record of the failure with its traceback."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator

#: Loggers whose informational lines stay off the console.
QUIET_LOGGERS = ("prefect", "distributed")
#: Prefect's records of a flow or task run; their failures reach the command line as the exception itself.
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
#: Set for the worker processes a quiet run starts: a Dask worker quiets its own console too
#: (:mod:`pipeline.daskworker`), since its task runs log to it.
QUIET_ENV = "PIPELINE_QUIET_CONSOLE"

log = logging.getLogger("pipeline.run")


def quiet() -> None:
    """Filter this process's console handlers, and those of the worker processes it starts from now on."""
    import prefect.main  # noqa: F401 - sets up Prefect's logging, whose console handler is filtered below

    for handler in logging.getLogger().handlers:  # Prefect's console handler sits on the root logger
        if _keep not in handler.filters:
            handler.addFilter(_keep)
    os.environ[QUIET_ENV] = "1"


def _keep(record: logging.LogRecord) -> bool:
    if not record.name.startswith(QUIET_LOGGERS):
        return True
    if record.name.startswith(RUN_LOGGERS) and record.levelno >= logging.ERROR and _a_failure(record):
        return False
    return record.levelno >= logging.WARNING


def _a_failure(record: logging.LogRecord) -> bool:
    """Prefect's own record of a flow or task run that failed: with the exception's traceback, or its
    final state. The exception itself reaches the command line, which says it in one line."""
    return record.exc_info is not None or record.getMessage().startswith(("Finished in state", "Task run failed"))


class _LastLine(logging.Handler):
    """Notes when the pipeline's loggers last said something."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.at = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        self.at = time.monotonic()


@contextlib.contextmanager
def heartbeat(every: float = 10.0) -> Iterator[None]:
    """While open, a line saying the run is still going whenever the pipeline's loggers have been silent for
    ``every`` seconds (waiting for the API server, hashing a large folder, one long batch ...)."""
    last = _LastLine()
    logger = logging.getLogger("pipeline")
    logger.addHandler(last)
    stop = threading.Event()
    start = time.monotonic()

    def beat() -> None:
        while not stop.wait(max(0.5, every - (time.monotonic() - last.at))):
            if time.monotonic() - last.at >= every:
                log.info("still running (%.0f s so far)", time.monotonic() - start)

    thread = threading.Thread(target=beat, name="pipeline-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        logger.removeHandler(last)
