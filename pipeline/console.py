"""What the console shows of a run: a line per stage and the summary, not Prefect's and Dask's own
informational lines (server, flow and task states; workers, clients and comms starting and closing).
Prefect's still go to the Prefect API, so the UI shows them; warnings and errors still print."""

from __future__ import annotations

import logging
import os

#: Loggers whose informational lines stay off the console.
QUIET_LOGGERS = ("prefect", "distributed")
#: Set for the worker processes a quiet run starts: a Dask worker quiets its own console too
#: (:mod:`pipeline.daskworker`), since its task runs log to it.
QUIET_ENV = "PIPELINE_QUIET_CONSOLE"


def quiet() -> None:
    """Filter this process's console handlers, and those of the worker processes it starts from now on."""
    import prefect.main  # noqa: F401 - sets up Prefect's logging, whose console handler is filtered below

    for handler in logging.getLogger().handlers:  # Prefect's console handler sits on the root logger
        if _keep not in handler.filters:
            handler.addFilter(_keep)
    os.environ[QUIET_ENV] = "1"


def _keep(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not record.name.startswith(QUIET_LOGGERS)
