"""News about the Russia-Ukraine peace talks and air war, turned into Parquet datasets and reports."""

from __future__ import annotations

import os

__version__ = "0.6.0"

# Prefect defaults that suit an offline, in-process run; any value the user set wins.
# They must be in place before prefect is first imported, hence here.
for _key, _value in {
    # The embedded API server can take 20 s to start on a busy 2-core machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # Telemetry needs the network, which is not there; it fails loudly without it.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Our own module loggers go to Prefect's console and API handlers (and so to the UI).
    "PREFECT_LOGGING_EXTRA_LOGGERS": "pipeline",
    # ... and outside a flow run (tests, tools) they just print, without a warning.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}.items():
    os.environ.setdefault(_key, _value)
