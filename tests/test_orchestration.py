"""Running elsewhere: a real Prefect server with a scheduled deployment, and a Dask cluster."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from pipeline.errors import PipelineError

from .conftest import ROOT, comparable_tables

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited {proc.returncode}\n{log.read_text() if log else ''}")
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text()[-4000:] if log else ''}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _tables_equal(a: Path, b: Path) -> None:
    x, y = comparable_tables(a), comparable_tables(b)
    for table in x:
        assert x[table].equals(y[table]), table


@pytest.mark.flow
def test_dask_runner_gives_the_same_datasets(seeds_copy, tmp_path, prefect_server):
    from pipeline.flows import run_flow

    run_flow("threads", None, seeds_dir=seeds_copy, out_dir=tmp_path / "threads", reports=False)
    summary = run_flow("dask", None, seeds_dir=seeds_copy, out_dir=tmp_path / "dask", reports=False, batch_size=2)
    assert summary.articles == 5
    _tables_equal(tmp_path / "threads", tmp_path / "dask")


def _warm() -> list[bool]:
    import sys

    return [name in sys.modules for name in ("prefect", "spacy", "pipeline.extract", "pipeline.tag")]


@pytest.mark.flow
def test_the_local_dask_cluster_starts_its_workers_warm():
    from distributed import Client

    from pipeline.flows import LOCAL_CLUSTER, _local_cluster

    with _local_cluster() as address, Client(address) as client:
        warm = client.run(_warm)
    assert len(warm) == LOCAL_CLUSTER["n_workers"]
    assert all(all(flags) for flags in warm.values()), warm


@pytest.mark.flow
def test_a_run_on_dask_keeps_the_cluster_and_its_task_runs_off_the_console(seeds_copy, tmp_path):
    from .conftest import run_python

    argv = ["-m", "pipeline", "run", "--runner", "dask", "--seeds", str(seeds_copy), "--out", str(tmp_path / "out")]
    done = run_python([*argv, "--no-reports"], ROOT, env={"PREFECT_HOME": str(tmp_path / "prefect-home")})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert not [line for line in lines if "distributed." in line or "Task run" in line], "\n".join(lines)
    # the run's first line, then the stage lines and the summary; a "still running" line may come while
    # the cluster starts (more than 10 s without a word on a busy machine)
    said = [line for line in lines if "pipeline.run - still running" not in line]
    assert "summary" in said and len(said) <= 15, "\n".join(lines)


_SHARED_SERVER = """
import os
from distributed import Client
from pipeline import flows

def address():
    return os.environ.get("PREFECT_API_URL")

if __name__ == "__main__":
    with flows._server_for_workers() as server, flows._local_cluster() as cluster, Client(cluster) as client:
        seen = set(client.run(address).values())
        print(server is not None, seen == {server.url})
    print(os.environ.get("PREFECT_API_URL"))
"""


@pytest.mark.flow
def test_without_a_configured_api_the_dask_workers_share_one_temporary_server(tmp_path):
    from .conftest import run_python

    script = tmp_path / "shared.py"
    script.write_text(_SHARED_SERVER, encoding="utf-8")
    done = run_python([str(script)], ROOT, env={"PREFECT_HOME": str(tmp_path / "prefect-home")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True", "None"]


@pytest.mark.server
def test_scheduled_deployment_runs_on_a_real_server(seeds_copy, tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    with server_log.open("w") as slog:
        server = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=slog,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    serve = None
    try:
        _wait(
            "server health", lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200, 120, server, server_log
        )
        client_env = env | {"PREFECT_API_URL": api}
        out = tmp_path / "out"
        with serve_log.open("w") as vlog:
            serve = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pipeline",
                    "serve",
                    "--cron",
                    "0 0 1 1 *",
                    "--name",
                    "test",
                    "--seeds",
                    str(seeds_copy),
                    "--out",
                    str(out),
                    "--no-reports",
                ],
                env=client_env,
                cwd=ROOT,
                stdout=vlog,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deployment = _wait(
            "deployment",
            lambda: (
                (r := httpx.get(f"{api}/deployments/name/news-pipeline/test", timeout=5)).status_code == 200
                and r.json()
            ),
            120,
            serve,
            serve_log,
        )
        assert deployment["schedules"] and deployment["schedules"][0]["schedule"]["cron"] == "0 0 1 1 *"
        subprocess.run(
            [str(BIN / "prefect"), "deployment", "run", "news-pipeline/test"],
            env=client_env,
            check=True,
            capture_output=True,
            timeout=120,
        )

        def finished():
            runs = httpx.post(
                f"{api}/flow_runs/filter",
                json={"deployments": {"id": {"any_": [deployment["id"]]}}},
                timeout=10,
            ).json()
            states = [r["state"]["type"] for r in runs if r.get("state")]
            if "FAILED" in states or "CRASHED" in states:
                pytest.fail(f"flow run failed: {states}\n{serve_log.read_text()[-4000:]}")
            return "COMPLETED" in states

        _wait("flow run to complete", finished, 300, serve, serve_log)
        assert pq.read_table(out / "datasets" / "articles").num_rows == 5
        counts = httpx.get(f"{api}/artifacts/pipeline-counts/latest", timeout=10)
        assert counts.status_code == 200 and counts.json()["type"] == "table"
    finally:
        if serve is not None:
            _stop(serve)
        _stop(server)


_TEMPORARY_API = """
import os, sys, urllib.request
from pipeline import apiserver
with apiserver.temporary_api() as server:
    if server is None:
        print("none", os.environ.get("PREFECT_API_URL"))
        sys.exit(0)
    assert os.environ["PREFECT_API_URL"] == server.url and "prefect" not in sys.modules
    server.wait()
    assert urllib.request.urlopen(server.url + "/health", timeout=5).status == 200
    pid = server.process.pid
print(pid, os.environ.get("PREFECT_API_URL"))
"""


def test_the_command_line_boots_a_temporary_api_server_and_stops_it(tmp_path):
    from .conftest import run_python

    home = tmp_path / "prefect-home"
    done = run_python(["-c", _TEMPORARY_API], ROOT, env={"PREFECT_HOME": str(home)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr  # the server's own output, shutdown included, is in its log
    assert "server on port" in (home / "server.log").read_text(encoding="utf-8")
    pid, url = done.stdout.split()
    assert url == "None"  # the address is gone with the server
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the temporary server outlived its block")


def test_a_server_that_fails_to_start_is_reported_with_the_end_of_its_log(tmp_path, monkeypatch):
    from pipeline import apiserver

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "nonsense://nowhere")
    server = apiserver.TemporaryServer()
    try:
        with pytest.raises(
            PipelineError, match=r"exited with status \d+ while starting \(its log, \S*server\.log, ends"
        ):
            server.wait(timeout=120)
    finally:
        server.stop()


def test_a_configured_prefect_api_is_used_as_it_is(tmp_path):
    from .conftest import run_python

    set_here = run_python(["-c", _TEMPORARY_API], ROOT, env={"PREFECT_API_URL": "http://127.0.0.1:4200/api"})
    assert set_here.stdout.split() == ["none", "http://127.0.0.1:4200/api"], set_here.stderr[-2000:]
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://127.0.0.1:4201/api"\n', encoding="utf-8"
    )
    in_profile = run_python(["-c", _TEMPORARY_API], ROOT, env={"PREFECT_HOME": str(home)})
    assert in_profile.stdout.split() == ["none", "None"], in_profile.stderr[-2000:]  # the profile's server
    project = tmp_path / "project"
    project.mkdir()
    (project / "prefect.toml").write_text('[api]\nurl = "http://127.0.0.1:4202/api"\n', encoding="utf-8")
    in_file = run_python(["-c", _TEMPORARY_API], project, env={"PREFECT_HOME": str(tmp_path / "empty-home")})
    assert in_file.stdout.split() == ["none", "None"], in_file.stderr[-2000:]  # Prefect reads its own file
