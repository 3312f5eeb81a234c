"""A Dask worker preload that loads the rules, gazetteers and tokenizer as the worker starts.

Dask starts its workers as fresh processes, where the threads runner's pool runs ``batch.warm_up`` as each
worker starts: without this, each Dask worker's first batch would pay the imports (Prefect's task engine,
spaCy, the rules: about 5 s here). The local cluster of ``--runner dask`` is started with it; a cluster
of your own takes it with ``dask worker --preload pipeline.daskworker``.
"""

from __future__ import annotations

import os
from typing import Any

from pipeline import console


def dask_setup(worker: Any) -> None:
    """Called by Dask once, as the worker starts (before it takes any task)."""
    if os.environ.get(console.QUIET_ENV):  # its task runs print to the run's console
        console.quiet()
    import prefect.task_engine  # noqa: F401 - each task is a Prefect task run: its import is part of the warm-up

    from pipeline import batch, flows  # noqa: F401 - the tasks are unpickled from pipeline.flows

    batch.warm_up()
