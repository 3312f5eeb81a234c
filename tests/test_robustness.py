"""Nothing lost, nothing leaked, one bad file never fails a run: crashes, bad inputs, budgets, faults."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline import batch, cli, io, schemas
from pipeline.errors import PipelineError, UnreadableInput
from pipeline.flows import check_arguments, news_pipeline

from .conftest import ROOT, comparable_tables

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]


def _run(seeds: Path, out: Path, **options):
    return news_pipeline(seeds_dir=seeds, out_dir=out, reports=False, **options)


def _tables(out: Path) -> dict[str, list[dict]]:
    """Every table made from the inputs as sorted rows (see ``comparable_tables``)."""
    return {table: sorted(data.to_pylist(), key=repr) for table, data in comparable_tables(out).items()}


def _change(seeds: Path) -> None:
    """An edit, an addition and a removal: every kind of change touches some month."""
    names = sorted(p.name for p in seeds.iterdir())
    edited = seeds / names[1]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nDrones hit Sumy overnight, injuring two people.\n")
    (seeds / names[0]).unlink()
    (seeds / "new.md").write_text("---\ntitle: New\ndate: 2026-02-10\n---\nGeneva hosted a new round of talks.\n")


@pytest.fixture(scope="module")
def clean_after_change(tmp_path_factory) -> dict[str, list[dict]]:
    """The tables a clean run gives on the seeds after _change."""
    from .conftest import SEEDS

    root = tmp_path_factory.mktemp("clean")
    shutil.copytree(SEEDS, root / "seeds")
    _change(root / "seeds")
    _run(root / "seeds", root / "out")
    return _tables(root / "out")


@pytest.mark.parametrize("table", list(schemas.TABLES))
def test_a_crash_after_any_table_write_leaves_the_last_run_and_the_next_run_repairs_it(
    table, seeds_copy, tmp_path, monkeypatch, clean_after_change
):
    out = tmp_path / "out"
    _run(seeds_copy, out)
    before = _tables(out)
    _change(seeds_copy)

    def crash(written: str) -> None:
        if written == table:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(io, "after_table_write", crash)
    with pytest.raises(OSError, match="No space left"):
        _run(seeds_copy, out)
    assert _tables(out) == before  # readers still see the whole of the last run, nothing of this one
    monkeypatch.undo()
    _run(seeds_copy, out)
    assert _tables(out) == clean_after_change


@pytest.mark.parametrize(
    ("when", "least", "sig"),
    [("batches", 4, signal.SIGKILL), ("mentions", 2, signal.SIGKILL), ("batches", 4, signal.SIGTERM)],
    ids=["kill-9-in-batches", "kill-9-after-mentions", "sigterm-in-batches"],
)
def test_a_killed_run_leaves_no_process_and_a_plain_rerun_gives_a_clean_run(
    when, least, sig, seeds_copy, tmp_path, clean_after_change
):
    out, pids = tmp_path / "out", tmp_path / "pids.txt"
    _run(seeds_copy, out)
    _change(seeds_copy)
    # The run (several batches, so worker processes start) signals itself while the batches run, or after
    # writing `mentions`, first noting every process it has started by then.
    driver = textwrap.dedent(
        f"""
        import os, signal, sys, psutil
        from pipeline import cli, flows, io, procs
        def die():
            kids = [p.pid for p in psutil.Process().children(recursive=True)]
            open({str(pids)!r}, "w").write(" ".join(map(str, kids)))
            os.kill(os.getpid(), {int(sig)})
        def after_table_write(table):
            if table == {when!r}:
                die()
        advance = flows._Progress.advance
        def advanced(self, *args):
            advance(self, *args)
            if {when!r} == "batches" and self.files >= 2:
                die()
        io.after_table_write = after_table_write
        flows._Progress.advance = advanced
        procs.guard()
        sys.exit(cli.main(["run", "--seeds", {str(seeds_copy)!r}, "--out", {str(out)!r}, "--no-reports",
                           "--batch-size", "1", "--processes", "2"]))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    done = subprocess.run([sys.executable, "-c", driver], cwd=ROOT, env=env, capture_output=True, timeout=300)
    # SIGKILL ends the process on the spot; SIGTERM stops the run cleanly, with the documented status
    assert done.returncode == (-sig if sig == signal.SIGKILL else 128 + sig), done.stderr.decode()[-2000:]
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) >= least  # the watchdog, the embedded server and, while batches run, two workers
    deadline = time.monotonic() + 30
    while (alive := [p for p in started if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive == [], "processes outlived the killed run"
    _run(seeds_copy, out)
    assert _tables(out) == clean_after_change


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_every_kind_of_bad_input_is_a_reject_and_the_run_goes_on(seeds_copy, tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    (seeds_copy / "leak.txt").symlink_to(secret)
    (seeds_copy / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (seeds_copy / "loop.txt").symlink_to(seeds_copy / "loop.txt")
    os.mkfifo(seeds_copy / "pipe.txt")
    bomb = (
        "---\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nauthors: [*b,*b,*b,*b,*b,*b]\n---\nText.\n"
    )
    (seeds_copy / "bomb.md").write_text(bomb)
    (seeds_copy / "month13.md").write_text("---\ndate: 2026-13-45\n---\nDrones hit Sumy overnight.\n")
    (seeds_copy / "listdate.md").write_text("---\ndate: [2026, 1, 5]\n---\nDrones hit Sumy overnight.\n")
    (seeds_copy / os.fsdecode(b"caf\xe9\nrejected fake.txt")).write_text("")
    (seeds_copy / "windows.txt").write_bytes(
        " date 2026-01-05 Drones hit Sumy overnight, officials said.".encode("utf-16")
    )
    (seeds_copy / "crash.txt").write_text(" date 2026-01-06 This one makes the extractor fail. Drones hit Sumy.\n")
    from pipeline import extract

    real = extract.extract_article

    def flaky(article, *args, **kwargs):
        if "makes the extractor fail" in article["body"]:
            raise ZeroDivisionError("a bug in one article")
        return real(article, *args, **kwargs)

    monkeypatch.setattr(extract, "extract_article", flaky)
    before = {p.name: p.read_bytes() for p in seeds_copy.iterdir() if p.is_file() and not p.is_symlink()}
    summary = _run(seeds_copy, tmp_path / "out")
    rejects = {r["source_file"]: r for r in pq.read_table(tmp_path / "out/datasets/rejects").to_pylist()}
    expect = {
        "leak.txt": ("input", "outside the seeds folder"),
        "dangling.txt": ("input", "dangling"),
        "loop.txt": ("input", "loop"),
        "pipe.txt": ("input", "FIFO"),
        "bomb.md": ("input", "aliases"),
        "month13.md": ("input", "unparseable date"),
        "listdate.md": ("input", "is a list, not a date"),
        "caf\\xe9\\x0arejected fake.txt": ("input", "empty file"),
        "crash.txt": ("failure", "ZeroDivisionError: a bug in one article"),
    }
    assert set(rejects) == set(expect)
    for name, (kind, words) in expect.items():
        assert rejects[name]["kind"] == kind and words in rejects[name]["reason"], rejects[name]
    assert rejects["crash.txt"]["stage"] == "extract"
    articles = pq.read_table(tmp_path / "out/datasets/articles").to_pylist()
    assert {a["source_file"] for a in articles} >= {"windows.txt"} and summary.articles == 6
    assert not any("root:" in a["body"] for a in articles)
    assert {p.name: p.read_bytes() for p in seeds_copy.iterdir() if p.name in before} == before
    assert any("failed in the pipeline itself" in line for line in summary.lines())


def test_an_article_over_its_time_budget_is_rejected_and_the_batch_goes_on(seeds_copy):
    names = sorted(p.name for p in seeds_copy.iterdir())
    result = batch.process_batch(seeds_copy, names, 2**20, seconds=1e-9)
    assert result.keys.num_rows == 0 and len(result.rejects) == len(names)
    assert {r["kind"] for r in result.rejects} == {"budget"}
    assert all("time budget" in r["reason"] for r in result.rejects)
    assert batch.process_batch(seeds_copy, names, 2**20, seconds=60).keys.num_rows == len(names)


def test_long_lines_cost_linear_time(tmp_path):
    from .conftest import SEEDS

    prose = " ".join((SEEDS / name).read_text(encoding="utf-8") for name in sorted(os.listdir(SEEDS)))
    prose = re.sub(r"\s+", " ", prose)  # one line, as a file without paragraph breaks gives it
    times = {}
    for size in (40_000, 160_000):
        (tmp_path / f"{size}.txt").write_text(" date 2026-01-05 " + (prose * (size // len(prose) + 1))[:size])
        batch.process_batch(tmp_path, [f"{size}.txt"], 2**22, seconds=None)  # warm
        start = time.perf_counter()
        result = batch.process_batch(tmp_path, [f"{size}.txt"], 2**22, seconds=None)
        times[size] = time.perf_counter() - start
        assert result.keys.num_rows == 1
    assert times[160_000] < 8 * times[40_000], times  # 4x the text: about 4x the time, never 16x


def test_an_unreadable_file_keeps_its_rows_and_is_flagged(seeds_copy, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _run(seeds_copy, out)
    before = _tables(out)
    victim = sorted(p.name for p in seeds_copy.iterdir())[0]
    real = io.read_input

    def read_input(seeds_dir, name, max_bytes):
        if name == victim:
            raise UnreadableInput("cannot read file: Permission denied")
        return real(seeds_dir, name, max_bytes)

    monkeypatch.setattr(io, "read_input", read_input)
    summary = _run(seeds_copy, out)
    after = _tables(out)
    assert after["articles"] == before["articles"] and after["strikes"] == before["strikes"]
    (reject,) = after["rejects"]
    assert reject["source_file"] == victim and reject["kind"] == "unreadable"
    assert summary.kept_unreadable == 1 and any("kept as they were" in line for line in summary.lines())


def test_untested_paths_give_a_clean_run(seeds_copy, tmp_path, monkeypatch):
    """Spilling to disk, losing the MinHash cache, a rules-version change, and a new article that turns
    an old one into a republished copy: each gives the tables of a clean run."""
    out, clean = tmp_path / "out", tmp_path / "clean"
    _run(seeds_copy, out)
    original = sorted(seeds_copy.iterdir())[0]
    text = original.read_text(encoding="utf-8")
    earlier = re.sub(r"(date:?\s*)\d{4}-\d\d-\d\d", r"\g<1>2025-12-01", text, count=1)  # the same text, earlier
    assert earlier != text
    (seeds_copy / "earlier-copy.md").write_text(earlier, encoding="utf-8")
    shutil.rmtree(out / "cache")
    monkeypatch.setattr(io.Staging, "DEFAULT_BUDGET", 1)  # every batch spills
    from pipeline import ingest

    monkeypatch.setattr(ingest, "rules_version", lambda: "another-version")
    summary = _run(seeds_copy, out, batch_size=2)
    assert summary.reused == 0
    _run(seeds_copy, clean, batch_size=2)
    assert _tables(out) == _tables(clean)
    dupes = [a for a in _tables(out)["articles"] if a["duplicate_of"]]
    assert [a["source_file"] for a in dupes] == [original.name]


def test_overlapping_seeds_and_output_folders_are_refused(seeds_copy, tmp_path, capsys):
    for out in (seeds_copy, seeds_copy / "outputs", tmp_path):
        with pytest.raises(PipelineError, match="overlap"):
            check_arguments(seeds_copy, out, 10, 10, None, 10)
    before = sorted(p.name for p in seeds_copy.rglob("*"))
    assert cli.main(["run", "--seeds", str(seeds_copy), "--out", str(seeds_copy)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "overlap" in err
    assert sorted(p.name for p in seeds_copy.rglob("*")) == before


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--batch-size", "-1"),
        ("--batch-size", "0"),
        ("--max-mib", "0"),
        ("--max-mib", "-1"),
        ("--processes", "0"),
        ("--seconds-per-article", "0"),
    ],
)
def test_impossible_options_are_one_line_and_exit_2(seeds_copy, tmp_path, capsys, option, value):
    argv = ["run", "--seeds", str(seeds_copy), "--out", str(tmp_path / "o"), option, value]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must be positive" in err and f"not {value}" in err


def test_a_crash_exits_2_with_one_line_and_the_details_in_a_log(seeds_copy, tmp_path, capsys, monkeypatch):
    from pipeline import flows

    def broken(*args, **kwargs):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(flows, "news_pipeline", broken)
    out = tmp_path / "o"
    assert cli.main(["run", "--seeds", str(seeds_copy), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RuntimeError: something nobody expected" in err
    (log,) = (out / "logs").iterdir()
    assert "Traceback" in log.read_text() and str(log) in err


def test_the_lock_is_checked_before_the_server_starts(seeds_copy, tmp_path, capsys):
    from .conftest import lock_held_elsewhere

    out = tmp_path / "o"
    with lock_held_elsewhere(out):
        start = time.perf_counter()
        code = cli.main(["run", "--seeds", str(seeds_copy), "--out", str(out), "--lock-timeout", "1"])
        took = time.perf_counter() - start
    assert code == 2 and took < 5
    assert "another run is writing to" in capsys.readouterr().err


def test_readme_loading_examples_work_with_undated_articles(seeds_copy, tmp_path, monkeypatch):
    (seeds_copy / "undated.txt").write_text("Drones hit Sumy overnight, officials said. Talks go on in Geneva.\n")
    _run(seeds_copy, tmp_path / "outputs")
    assert pq.read_table(tmp_path / "outputs/datasets/articles").column("published").null_count == 1
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Loading the data", 1)[1].split("\n## ", 1)[0]
    snippets = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(snippets) >= 4
    monkeypatch.chdir(tmp_path)
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), {})
    import pandas as pd

    for table in schemas.TABLES:  # every table, not only the ones the examples name
        frame = pd.read_parquet(f"outputs/datasets/{table}")
        assert len(frame) == pq.read_table(f"outputs/datasets/{table}").num_rows
    assert "undated" in set(pd.read_parquet("outputs/datasets/articles")["month"].astype(str))


def test_a_value_that_does_not_fit_its_column_rejects_only_its_file(seeds_copy, monkeypatch):
    from pipeline import extract

    names = sorted(p.name for p in seeds_copy.iterdir())
    real = extract.extract_article

    def oversized(article, *args, **kwargs):
        strikes, talks, quotes = real(article, *args, **kwargs)
        if article["source_file"] == names[0] and strikes:
            strikes[0] = {**strikes[0], "killed": 2**40}  # more than int32 holds
        return strikes, talks, quotes

    monkeypatch.setattr(extract, "extract_article", oversized)
    result = batch.process_batch(seeds_copy, names, 2**20)
    (reject,) = result.rejects
    assert reject["source_file"] == names[0] and (reject["kind"], reject["stage"]) == ("failure", "write")
    assert result.keys.num_rows == len(names) - 1 == result.tables["articles"].num_rows


def test_an_absurd_count_is_no_figure():
    from pipeline.extract import load_rules

    assert load_rules().numbers.parse("5000000000") == (None, None)
    assert load_rules().numbers.parse("2,147,483,647") == (2**31 - 1, None)


def test_a_seeds_folder_that_cannot_be_listed_stops_the_run_rather_than_emptying_the_datasets(tmp_path, monkeypatch):
    real = os.scandir

    def scandir(path="."):
        if Path(path) == tmp_path:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(PipelineError, match="cannot read the seeds folder"):
        io.discover_inputs(tmp_path)


def test_a_last_run_whose_articles_cannot_be_read_is_rebuilt_whole(seeds_copy, tmp_path):
    out, clean = tmp_path / "out", tmp_path / "clean"
    _run(seeds_copy, out)
    sorted(seeds_copy.iterdir())[0].unlink()
    for part in (out / "datasets" / "articles").rglob("*.parquet"):
        os.unlink(part)  # not written through: the file is a hard link shared with the version before
        part.write_bytes(b"not parquet")
    _run(seeds_copy, out)
    _run(seeds_copy, clean)
    assert _tables(out) == _tables(clean)


def test_a_run_started_in_the_background_keeps_ignoring_ctrl_c():
    script = (
        "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "from pipeline import procs; procs.guard()\n"
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, signal.getsignal(signal.SIGTERM) is procs._stop)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "True"], done.stderr


def test_a_full_disk_is_one_line_naming_the_cause_and_the_folder(seeds_copy, tmp_path, capsys, monkeypatch):
    from pipeline import flows

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(flows, "news_pipeline", full)
    out = tmp_path / "o"
    assert cli.main(["run", "--seeds", str(seeds_copy), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: No space left on device ({out}); details in {out}/logs/" in err


def test_a_failure_stops_the_workers_without_waiting_for_their_batches():
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="stop"), batch.worker_pool(2):
        assert batch._POOL is not None
        batch._POOL.submit(time.sleep, 120)  # a batch that would run for two minutes
        time.sleep(1)
        raise RuntimeError("stop")
    assert time.perf_counter() - start < 60


def test_rows_another_version_made_are_rewritten_even_when_kept(tmp_path):
    import datetime as dt

    import pyarrow as pa

    from pipeline import plan

    def keys(rows):
        names = ["article_id", "published", "duplicate_of", "pipeline_version"]
        return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})

    jan, feb = dt.date(2026, 1, 5), dt.date(2026, 2, 5)
    previous = keys([("a", jan, None, "v1"), ("b", feb, None, "v2")])
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    fields = {"a": (None, now), "b": (None, now)}
    # both kept as they were (say, their files could not be read); only "a" was made by another version
    assert plan.touched_months(previous, previous, previous, fields, "v2") == {"2026-01"}
    assert plan.touched_months(previous, previous, previous, fields) == set()


def test_a_file_the_listing_may_not_look_at_is_unreadable_and_keeps_its_rows(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.txt").write_text("x")
    real = os.lstat

    def lstat(path, *args, **kwargs):
        if os.path.basename(path) == "a.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(io.os, "lstat", lstat)
    listing = io.discover_inputs(tmp_path)
    assert listing.files == ["b.txt"] and listing.unreadable == {"a.txt"}
    assert listing.rejects == [("a.txt", "cannot read file: Permission denied", "unreadable")]
