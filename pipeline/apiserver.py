"""A temporary Prefect API server for one run, started early so that its start-up overlaps the run's own.

Without ``PREFECT_API_URL``, Prefect starts an embedded API server the first time a flow needs one: it
imports the whole server into the run's process (about 4 s here) and then waits for the server
process to boot (another 4-5 s), before the first stage can begin. The command line instead starts the
same server process first thing, before it imports Prefect, spaCy or the rules, and points
``PREFECT_API_URL`` at it: the server boots while the run loads. Runs, task states and logs go to the
same database under ``PREFECT_HOME`` as the embedded server's, so the Prefect UI shows them as before.

Nothing here imports Prefect: the server is ``uvicorn`` running Prefect's app factory, as Prefect's
own embedded server does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pipeline.errors import PipelineError


class TemporaryServer:
    """A Prefect API server process on a free loopback port, until :meth:`stop`."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("prefect")
        if spec is None or spec.origin is None:
            raise PipelineError("prefect is not installed in this environment")
        app_dir = str(Path(spec.origin).parent.parent)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            # block types are for deployments' storage and credentials, which a run does not use (a full
            # `prefect server start` registers them); registering them costs every run half a second
            "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
        }
        env.pop("PREFECT_API_URL", None)
        # What the server prints goes to a log file, not the run's console: stopping it while its services
        # flush prints their cancelled tasks' tracebacks, which are not the run's concern.
        self.log_path = server_log_path()
        log, self._log_start = _open_log(self.log_path, self.port)
        with log:  # the server process keeps its own copy
            # a command as Prefect's own embedded server runs it (prefect/server/api/server.py)
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "--app-dir", app_dir),
                    *("--factory", "prefect.server.api.server:create_app"),
                    *("--host", "127.0.0.1", "--port", str(self.port)),
                    *("--log-level", "error", "--lifespan", "on"),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait(self, timeout: float | None = None) -> None:
        """Return once the server answers its health check; a PipelineError if it exits or never does."""
        if timeout is None:
            timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            status = self.process.poll()
            if status is not None:
                raise PipelineError(
                    f"the temporary Prefect server exited with status {status} while starting{self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise PipelineError(
            f"the temporary Prefect server did not answer within {timeout:g} s "
            "(raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS on a busy machine)"
        )

    def _log_tail(self, lines: int = 20) -> str:
        """The last lines this server printed, to quote in an error."""
        if self._log_start is None:
            return " (its output could not be kept: PREFECT_HOME is not writable)"
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                text = log.read().decode("utf-8", errors="replace").strip()
        except OSError:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f" (its log, {self.log_path}, ends:\n{tail})" if tail else f" (its log, {self.log_path}, is empty)"

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _prefect_home() -> Path:
    """Prefect's home folder, as Prefect finds it without a profile: ``PREFECT_HOME`` or ``~/.prefect``."""
    return Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()


def server_log_path() -> Path:
    """Where temporary servers' output goes: ``server.log`` under ``PREFECT_HOME``."""
    return _prefect_home() / "server.log"


#: Past this size the log is moved to ``server.log.1`` (replacing the one before) and begun again.
LOG_LIMIT = 2**20


def _open_log(path: Path, port: int) -> tuple[IO[bytes], int | None]:
    """``path`` opened to append the output of the server on ``port``, and the offset where that output
    begins; the null device and None when it cannot be written. Appending keeps a concurrent run's server
    output whole."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > LOG_LIMIT:
                os.replace(path, path.with_name(path.name + ".1"))
        log = path.open("ab")
    except OSError:
        return open(os.devnull, "wb"), None
    try:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} server on port {port}, run {os.getpid()}\n".encode())
        log.flush()
        return log, log.tell()
    except OSError:
        log.close()
        return open(os.devnull, "wb"), None


def _profile_setting(key: str) -> str | None:
    """A setting of the active Prefect profile, if the profiles file sets it."""
    import tomllib

    home = _prefect_home()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    settings = profiles.get("profiles", {}).get(active, {})
    value = settings.get(key) if isinstance(settings, dict) else None
    return None if value is None else str(value)


@contextlib.contextmanager
def temporary_api() -> Iterator[TemporaryServer | None]:
    """A temporary server, with ``PREFECT_API_URL`` pointing at it, for the block; None (and nothing
    started) when a Prefect API is configured or the embedded server is turned off. Call it before
    Prefect is imported, so that Prefect reads the address from the environment."""
    if os.environ.get("PREFECT_API_URL") or _settings_elsewhere() or "prefect" in sys.modules:
        yield None  # Prefect decides: the configured server, or its own embedded one
        return
    with started() as server:
        yield server


@contextlib.contextmanager
def started() -> Iterator[TemporaryServer]:
    """A temporary server, with ``PREFECT_API_URL`` pointing at it in this process's environment (and so in
    the processes it starts), until the block ends; then what Prefect still holds is sent and it stops."""
    server = TemporaryServer()
    os.environ["PREFECT_API_URL"] = server.url
    try:
        yield server
    finally:
        try:
            drain_prefect()
        finally:  # a second Ctrl-C while draining still stops the server
            os.environ.pop("PREFECT_API_URL", None)
            server.stop()


def _settings_elsewhere() -> bool:
    """Whether Prefect may take its API address, or the embedded server's switch, from somewhere other
    than the environment: the active profile, or a settings file in the working folder (``prefect.toml``,
    ``.env``, ``pyproject.toml``'s ``[tool.prefect]``). Then the run leaves the choice to Prefect."""
    if _profile_setting("PREFECT_API_URL") or _profile_setting("PREFECT_SERVER_EPHEMERAL_ENABLED") is not None:
        return True
    if os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").lower() in ("0", "false", "no"):
        return True
    here = Path.cwd()
    for name, marker in (("prefect.toml", ""), (".env", "PREFECT_"), ("pyproject.toml", "[tool.prefect")):
        try:
            if marker in (here / name).read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def drain_prefect(timeout: float = 10.0) -> None:
    """Send what Prefect still holds (log lines, events) to the server before it stops: otherwise its
    workers retry a vanished server at exit and print "Error logging to API"."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=timeout)
