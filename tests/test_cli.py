"""Every command as a user types it: ``python -m pipeline ...`` in a fresh process, run from a temporary copy
of the project with the README's default relative paths (``seeds``, ``outputs``), checked for its exit
code, its console (one line per error and no traceback: that goes to ``outputs/logs``), the files it
writes and the rows. The tests below the flow's own keep testing the functions beneath."""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from .conftest import ROOT, comparable_tables, run_python

pytestmark = pytest.mark.flow

SENTENCE = "A Russian drone hit a house in Kharkiv overnight, injuring 3 people, the governor said."


def _project(where: Path) -> Path:
    """A copy of the project's code, notebooks and seeds: what a fresh clone holds (no outputs)."""
    project = where / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("pipeline", "notebooks", "seeds"):
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    return project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _project(tmp_path)


def pipeline(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m pipeline ARGS`` in ``project``, as typed there."""
    return run_python(["-m", "pipeline", *args], project, env)


def console(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def assert_clean_console(done: subprocess.CompletedProcess[str]) -> None:
    """No traceback, no library noise: what a person reads."""
    text = console(done)
    for noise in ("Traceback", "IPKernelApp", "KeyboardInterrupt", "discarding data", "Task run", "Flow run"):
        assert noise not in text, f"{noise!r} on the console:\n{text[-3000:]}"


def rows(project: Path, table: str) -> list[dict[str, Any]]:
    return pq.read_table(project / "outputs" / "datasets" / table).to_pylist()


def digest(folder: Path) -> str:
    """Names, bytes and modes of everything under ``folder`` (a run must change none of its inputs)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(os.fsencode(path.relative_to(folder)) + f" {path.stat().st_mode}".encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def article(day: str, text: str = SENTENCE) -> str:
    return f"date {day}\n{text}\n"


def settle() -> None:
    """Let the files just written age past the moment a run trusts their metadata (unchanged.SETTLE): a run
    that starts sooner reads them and records nothing, so that the next one looks again."""
    from pipeline import unchanged

    time.sleep(unchanged.SETTLE + 0.2)


# --------------------------------------------------------------------------- the README's first run


def test_the_readme_run_three_times_with_an_article_added_between(project):
    seeds_before = digest(project / "seeds")
    first = pipeline(project, "run")
    assert first.returncode == 0, console(first)[-3000:]
    assert_clean_console(first)
    lines = console(first).splitlines()
    assert lines[0].startswith("run: 5 input files in seeds, outputs to outputs")
    reports = project / "outputs" / "reports"
    pages = {p: (reports / p).stat().st_mtime_ns for p in ("talks.html", "strikes.html", "index.html")}
    assert "  reports: outputs/reports/index.html (talks.html, strikes.html)" in lines
    added = {
        2: article("2026-02-02"),
        3: article("2026-02-03", "Talks between Ukraine and Russia resumed in Geneva on Tuesday, the Kremlin said."),
    }
    for n, text in added.items():
        (project / "seeds" / f"added-{n}.txt").write_text(text, encoding="utf-8")
        settle()
        again = pipeline(project, "run")
        assert again.returncode == 0, console(again)[-3000:]
        assert_clean_console(again)
        assert f"  articles: {4 + n} (0 duplicates, {3 + n} unchanged and reused)" in console(again).splitlines()
        for page, before in pages.items():  # both reports rendered again, side by side, from relative paths
            assert (reports / page).stat().st_mtime_ns > before, page
        pages = {p: (reports / p).stat().st_mtime_ns for p in pages}
    assert {r["source_file"] for r in rows(project, "articles")} >= {"added-2.txt", "added-3.txt"}
    unchanged = pipeline(project, "run")
    assert unchanged.returncode == 0 and "nothing changed since run" in unchanged.stdout
    assert not list(project.glob("outputs/reports/.tmp-*")) and not (project / "outputs" / "logs").exists()
    for name in ("added-2.txt", "added-3.txt"):
        (project / "seeds" / name).unlink()
    assert digest(project / "seeds") == seeds_before  # the seeds as they were: nothing written, moved or touched


# --------------------------------------------------------------------------- inputs of every kind


def test_odd_inputs_are_read_named_and_kept_through_reruns(project):
    seeds = project / "seeds"
    with open(os.path.join(os.fsencode(seeds), b"bad_\xff\xfe.txt"), "wb") as f:  # not a UTF-8 name
        f.write(article("2026-02-02", "Drones struck Odesa overnight, killing 2 people, the governor said.").encode())
    latin = "Officials in Zürich said José Müller, the café owner, was hurt when drones hit Sumy, the mayor said."
    (seeds / "latin.txt").write_bytes(article("2026-02-03", latin).encode("latin-1"))
    (seeds / "old.txt").write_text(article("1900-01-01", "Drones hit Poltava at night."), encoding="utf-8")
    (seeds / "one-line.txt").write_text("date 2026-02-04\n" + (SENTENCE + " ") * 15_000, encoding="utf-8")
    page = "<html><head><script>var a = 1;</script></head><body><script>go()</script></body></html>"
    (seeds / "scripts.html").write_text(page, encoding="utf-8")  # nothing to read: rejected, said once
    shutil.copy(seeds / sorted(p.name for p in (ROOT / "seeds").iterdir())[0], seeds / "zz-copy.txt")
    before = digest(seeds)
    settle()

    first = pipeline(project, "run", "--no-reports")
    assert first.returncode == 0, console(first)[-3000:]
    assert_clean_console(first)
    articles = {r["source_file"]: r for r in rows(project, "articles")}
    assert r"bad_\xff\xfe.txt" in articles
    assert articles["latin.txt"]["encoding"] == "iso8859-1" and latin in articles["latin.txt"]["body"]
    assert any("1900-01-01 is outside" in w for w in articles["old.txt"]["warnings"])
    one_line = articles["one-line.txt"]["article_id"]
    assert sum(s["article_id"] == one_line for s in rows(project, "strikes")) == 1
    odesa = [s for s in rows(project, "strikes") if s["article_id"] == articles[r"bad_\xff\xfe.txt"]["article_id"]]
    assert [(s["place"], s["killed"]) for s in odesa] == [("Odesa", 2)]
    text = console(first)
    assert "  republished copies: 1 " in text and "  rejected: 1 " in text
    assert "scripts.html: no main text found in the HTML page" in text  # said once, as the reject reason
    assert text.index("zz-copy.txt repeats") < text.index("  rejected: 1 ")

    unchanged = pipeline(project, "run", "--no-reports")
    assert unchanged.returncode == 0 and "nothing changed since run" in unchanged.stdout
    full = pipeline(project, "run", "--no-reports", "--full")
    assert full.returncode == 0, console(full)[-3000:]
    assert r"bad_\xff\xfe.txt" in {r["source_file"] for r in rows(project, "articles")}
    assert digest(seeds) == before


def test_a_file_over_the_size_limit_stays_rejected_and_the_shortcut_holds(project):
    (project / "seeds" / "huge.txt").write_text("date 2026-02-01\n" + "word " * 600_000, encoding="utf-8")
    settle()
    first = pipeline(project, "run", "--no-reports")
    assert first.returncode == 0 and "huge.txt: file too large" in first.stdout
    assert [(r["source_file"], r["kind"]) for r in rows(project, "rejects")] == [("huge.txt", "input")]
    second = pipeline(project, "run", "--no-reports")
    assert second.returncode == 0 and "nothing changed since run" in second.stdout
    assert "huge.txt: file too large" in second.stdout  # the standing lines say it again


def test_an_edited_rule_takes_effect_on_the_next_incremental_run(project, tmp_path):
    assert pipeline(project, "run", "--no-reports").returncode == 0
    killed_before = sum(r["killed"] is not None for r in rows(project, "strikes"))
    figures = project / "pipeline" / "data" / "extract" / "figures.yaml"
    text = figures.read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^killed_verbs: \[.*\]$", "killed_verbs: []", text)
    assert edited != text  # no version number to bump: the file's content is what counts
    figures.write_text(edited, encoding="utf-8")
    again = pipeline(project, "run", "--no-reports")
    assert again.returncode == 0, console(again)[-3000:]
    assert "0 unchanged and reused" in again.stdout
    fresh = pipeline(project, "run", "--no-reports", "--out", str(tmp_path / "fresh"))
    assert fresh.returncode == 0, console(fresh)[-3000:]
    incremental, clean = comparable_tables(project / "outputs"), comparable_tables(tmp_path / "fresh")
    for table in ("articles", "sentences", "mentions", "strikes", "talks", "quotes", "events"):
        assert incremental[table].equals(clean[table]), table
    assert sum(r["killed"] is not None for r in rows(project, "strikes")) < killed_before


# --------------------------------------------------------------------------- corrections


def test_bad_corrections_are_skipped_one_by_one_and_the_run_goes_on(project):
    (project / "corrections.yaml").write_text(
        "- strike_id: aaaa\n  action: set\n  set: {killed: 5000000000}\n"
        "- strike_id: bbbb\n  action: set\n  set: {killed: 99999999999999999999999999}\n"
        "- strike_id: cccc\n  action: reject\n  date: 2026-02-30\n"
        "- strike_id: dddd\n  action: reject\n  note: [checked, twice]\n"
        "- strike_id: eeee\n  action: reject\n  note: a good entry, whose row is not in the data\n",
        encoding="utf-8",
    )
    done = pipeline(project, "run", "--no-reports")
    assert done.returncode == 0, console(done)[-3000:]
    assert_clean_console(done)
    out = done.stdout
    assert "corrections: 0 applied, 1 unmatched, 4 invalid" in out
    for n, words in [(1, "from 0 to"), (2, "from 0 to"), (3, "a day, YYYY-MM-DD, that exists"), (4, "must be text")]:
        assert re.search(rf"invalid: .*entry {n} \(strike_id \w+\): .*{re.escape(words)}", out), (n, out)


def test_a_corrections_file_of_nested_aliases_is_refused_quickly_and_quietly(project):
    lines = ['a: &a ["xxxxxxxxxxxx", "xxxxxxxxxxxx", "xxxxxxxxxxxx", "xxxxxxxxxxxx", "xxxxxxxxxxxx"]']
    for prev, name in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    lines.append("corrections:\n- strike_id: aaaa\n  action: reject\n  note: *j\n  by: *j")
    (project / "corrections.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert (project / "corrections.yaml").stat().st_size < 800
    settle()

    def limited() -> None:  # the run and everything it starts get 4 GB of address space
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "PIPELINE_NOTEBOOKS"}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--no-reports"],
        cwd=project,
        env=env,
        capture_output=True,
        timeout=120,
        preexec_fn=limited,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stdout) + len(done.stderr) < 200_000
    assert b"YAML aliases (*name) are not allowed" in done.stdout
    assert (project / "outputs" / "cache" / "last_run.json").stat().st_size < 200_000


# --------------------------------------------------------------------------- failures and kills


def test_a_failing_report_is_one_line_on_the_console_and_a_traceback_in_the_logs(project):
    notebook = project / "notebooks" / "strikes.ipynb"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[2]["source"] = ['raise RuntimeError("a cell that fails")\n']
    notebook.write_text(json.dumps(nb), encoding="utf-8")
    done = pipeline(project, "run")
    assert done.returncode == 2
    errors = [line for line in console(done).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "strikes.ipynb failed in cell" in errors[0] and "a cell that fails" in errors[0]
    assert_clean_console(done)
    (log,) = (project / "outputs" / "logs").glob("error-*.log")
    assert errors[0].endswith(f"details in outputs/logs/{log.name}")
    assert "Traceback" in log.read_text(encoding="utf-8")
    assert (project / "outputs" / "reports" / "talks.html").is_file()  # the other report still came out


def test_a_run_killed_while_rendering_leaves_nothing_behind(project):
    tmp = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))  # short: kernels' sockets live here
    run: subprocess.Popen[bytes] | None = None
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "PIPELINE_NOTEBOOKS"}
        env["TMPDIR"] = str(tmp)
        run = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "run"],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not _kernels_of(project) and time.monotonic() < deadline:  # a kernel process is running
            assert run.poll() is None, "the run ended before a kernel started"
            time.sleep(0.05)
        assert _kernels_of(project) and list(tmp.glob("pipeline-kernel-*")), "no kernel started"
        run.send_signal(signal.SIGKILL)
        run.wait(30)
        deadline = time.monotonic() + 30
        while _started_by(tmp) and time.monotonic() < deadline:  # the watchdog stops what the run started
            time.sleep(0.2)
        assert not _started_by(tmp)  # no kernel, API server or worker outlives the killed run
        again = subprocess.run(
            [sys.executable, "-m", "pipeline", "run"], cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
        assert again.returncode == 0, again.stderr[-3000:]
        assert not list(tmp.glob("pipeline-kernel-*")) and not list(tmp.glob("tmp*.json"))
        assert (project / "outputs" / "reports" / "strikes.html").is_file()
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait(30)
        for pid in _started_by(tmp):  # a failed assertion must not leave the run's processes behind
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def _processes(match: Any) -> list[int]:
    """Pids of the live processes (this one aside) for which ``match(process)`` holds; a process that ends
    or cannot be looked at while it is asked about does not count."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.status() != psutil.STATUS_ZOMBIE and match(proc):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def _started_by(tmp: Path) -> list[int]:
    """Processes whose environment holds ``TMPDIR=tmp``: the run's own and all it started."""
    return _processes(lambda proc: proc.environ().get("TMPDIR") == str(tmp))


def _kernels_of(project: Path) -> list[int]:
    """Kernel processes started from ``project``'s notebooks folder (their working folder)."""
    notebooks = str((project / "notebooks").resolve())
    return _processes(lambda proc: "ipykernel" in " ".join(proc.cmdline()) and proc.cwd() == notebooks)


# --------------------------------------------------------------------------- reports and other commands


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = _project(tmp_path_factory.mktemp("ran"))
    done = pipeline(project, "run")
    assert done.returncode == 0, console(done)[-3000:]
    return project


def test_report_places_are_resolved_through_the_gazetteer(ran):
    done = pipeline(ran, "report", "strikes", "--places", "Kiev,kharkov")
    assert done.returncode == 0, console(done)[-3000:]
    assert_clean_console(done)
    page = ran / "outputs" / "reports" / "strikes_start_latest_Kyiv-Kharkiv.html"
    assert page.is_file() and f"report written: outputs/reports/{page.name}" in done.stdout
    assert "Kharkiv" in page.read_text(encoding="utf-8")
    mixed = pipeline(ran, "report", "strikes", "--places", "Kyiv,Narnia")
    assert mixed.returncode == 0 and "warning: --places: 'Narnia' is not a place the gazetteer knows" in mixed.stdout
    unknown = pipeline(ran, "report", "strikes", "--places", "Narnia")
    assert unknown.returncode == 2 and unknown.stderr.strip().splitlines() == [
        "error: --places: no place the gazetteer knows: Narnia (spell them as Kyiv, Kharkiv)"
    ]


def test_titled_reports_do_not_overwrite_each_other(ran):
    for title in ("Week one", "Week two"):
        done = pipeline(ran, "report", "talks", "--title", title)
        assert done.returncode == 0, console(done)[-3000:]
    reports = ran / "outputs" / "reports"
    assert (reports / "talks_week-one.html").is_file() and (reports / "talks_week-two.html").is_file()
    assert "Week two" in (reports / "talks_week-two.html").read_text(encoding="utf-8")
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "talks_week-one.html" in index and "talks_week-two.html" in index


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "strikes", "--as-of", ""], "error: --as-of names no run"),
        (["report", "strikes", "--title", " "], "error: --title is empty"),
        (["report", "strikes", "--start", "2026-02-30"], "error: --start '2026-02-30' is not a day"),
        (["report", "strikes", "--as-of", "no-such-run"], "error: no snapshot of run 'no-such-run'"),
        (["docs", "--write", "missing/README.md"], "error: --write missing/README.md: no such file"),
        (["review", "--min-confidence", "2"], "error: --min-confidence must be between 0 and 1"),
        (["run", "--seeds", "no-such-folder"], "error: seeds folder not found: no-such-folder"),
    ],
)
def test_a_bad_argument_is_one_line_and_writes_nothing(ran, args, message):
    listing = sorted(str(p.relative_to(ran)) for p in ran.rglob("*"))
    done = pipeline(ran, *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(message)
    assert "Traceback" not in console(done)
    assert sorted(str(p.relative_to(ran)) for p in ran.rglob("*")) == listing  # no log, no file
