"""An unchanged re-run ends before the flow; any change that could change the outputs runs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import cli, flows, io, unchanged


class _Flow:
    """``run_flow`` replaced: counts the runs that got as far as the flow, and changes nothing."""

    def __init__(self, **summary: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        self.summary = summary  # fields of the RunSummary each run returns

    def __call__(self, runner: str, address: str | None, server: Any, **params: Any) -> flows.RunSummary:
        self.calls.append(params)
        return flows.RunSummary(run_id=f"stand-in-{len(self.calls)}", **self.summary)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """The seeds run once through the real flow, with reports; the copied files count as settled."""
    from .conftest import SEEDS

    root = tmp_path_factory.mktemp("unchanged")
    seeds, out = root / "seeds", root / "out"
    shutil.copytree(SEEDS, seeds)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(unchanged, "SETTLE", 0.0)
        assert cli.main(["run", "--seeds", str(seeds), "--out", str(out)]) == 0
        current = io.committed(out)
        assert current is not None
        yield seeds, out, current.name


@pytest.fixture
def ran(real: tuple[Path, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, _Flow]:
    """A copy of the real run's seeds and outputs, recorded as the last run by a run of the stand-in flow
    (the copies are other files: the real run's record does not hold for them)."""
    monkeypatch.setattr(unchanged, "SETTLE", 0.0)
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(real[0], seeds)
    shutil.copytree(real[1], out, symlinks=True)
    flow = _Flow()
    monkeypatch.setattr(flows, "run_flow", flow)
    assert cli.main(["run", "--seeds", str(seeds), "--out", str(out)]) == 0
    assert len(flow.calls) == 1
    return seeds, out, flow


def _versions(out: Path) -> list[str]:
    return sorted(p.name for p in (out / io.VERSIONS).iterdir())


def test_an_unchanged_rerun_says_so_and_does_not_run_the_flow(real, monkeypatch, capsys):
    seeds, out, run_id = real
    monkeypatch.setattr(unchanged, "SETTLE", 0.0)
    flow = _Flow()
    monkeypatch.setattr(flows, "run_flow", flow)
    before = _versions(out)
    capsys.readouterr()
    assert cli.main(["run", "--seeds", str(seeds), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert flow.calls == []
    assert printed.startswith(f"nothing changed since run {run_id}: the same 5 input files")
    assert f"  run: none; the datasets are those of run {run_id}" in printed
    assert "  rejected: 0 (0 input, 0 budget, 0 unreadable, 0 failure)" in printed
    assert f"  reports: {out / 'reports' / 'index.html'} (talks.html, strikes.html)" in printed
    assert "events 18" in printed
    assert _versions(out) == before  # no snapshot, no run-log row
    # the runner and batch size change only how fast the rows come
    assert cli.main(["run", "--seeds", str(seeds), "--out", str(out), "--batch-size", "2", "--processes", "1"]) == 0
    assert flow.calls == []


def _edit(seeds: Path, out: Path) -> list[str]:
    path = sorted(seeds.iterdir())[0]
    path.write_bytes(path.read_bytes() + b"\n\nA paragraph added later.\n")
    return []


def _touch(seeds: Path, out: Path) -> list[str]:
    path = sorted(seeds.iterdir())[0]
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # the same times: only the change time moves
    return []


def _chmod(seeds: Path, out: Path) -> list[str]:
    path = sorted(seeds.iterdir())[0]
    path.chmod(0o600)
    return []


def _add(seeds: Path, out: Path) -> list[str]:
    shutil.copy(sorted(seeds.iterdir())[0], seeds / "zz-copy.txt")
    return []


def _remove(seeds: Path, out: Path) -> list[str]:
    sorted(seeds.iterdir())[-1].unlink()
    return []


def _corrections(seeds: Path, out: Path) -> list[str]:
    (seeds.parent / "corrections.yaml").write_text("[]\n", encoding="utf-8")
    return []


def _corrections_given(seeds: Path, out: Path) -> list[str]:
    given = seeds.parent / "elsewhere.yaml"
    given.write_text("[]\n", encoding="utf-8")
    return ["--corrections", str(given)]


def _report_deleted(seeds: Path, out: Path) -> list[str]:
    (out / "reports" / "talks.html").unlink()
    return []


def _report_edited(seeds: Path, out: Path) -> list[str]:
    page = out / "reports" / "strikes.html"
    page.write_text(page.read_text(encoding="utf-8") + "<!-- edited -->", encoding="utf-8")
    return []


def _leftover(seeds: Path, out: Path) -> list[str]:
    (out / ".staging").mkdir()  # what an interrupted run leaves
    return []


def _code(seeds: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(unchanged, "code_digest", lambda: "another version of the code")
    return []


CHANGES: dict[str, Callable[..., list[str]]] = {
    "an input edited": _edit,
    "an input's metadata changed, its times kept": _touch,
    "an input's permissions changed": _chmod,
    "an input added": _add,
    "an input removed": _remove,
    "a corrections file beside the seeds": _corrections,
    "a corrections file given": _corrections_given,
    "a report deleted": _report_deleted,
    "a report edited": _report_edited,
    "a leftover of an interrupted run": _leftover,
    "the code, rules or packages": _code,
    "--max-mib": lambda seeds, out: ["--max-mib", "1"],
    "--seconds-per-article": lambda seeds, out: ["--seconds-per-article", "5"],
    "--keep-snapshots": lambda seeds, out: ["--keep-snapshots", "3"],
    "--no-reports": lambda seeds, out: ["--no-reports"],
    "--full": lambda seeds, out: ["--full"],
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_that_could_change_the_outputs_runs_the_flow(ran, change, monkeypatch, capsys):
    seeds, out, flow = ran
    make = CHANGES[change]
    extra = make(seeds, out, monkeypatch) if make is _code else make(seeds, out)
    argv = ["run", "--seeds", str(seeds), "--out", str(out), *extra]
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert len(flow.calls) == 2, change
    assert "nothing changed" not in capsys.readouterr().out
    assert flow.calls[1]["incremental"] is (change != "--full")
    if change != "--full":  # the run that saw the change is the last run now: the same again needs no flow
        assert cli.main(argv) == 0
        assert len(flow.calls) == 2, change
        assert capsys.readouterr().out.startswith("nothing changed since run stand-in-2")


def test_a_file_changed_just_before_a_run_is_looked_at_again_by_the_next(ran, monkeypatch):
    seeds, out, flow = ran
    monkeypatch.setattr(unchanged, "SETTLE", 60.0)
    _edit(seeds, out)
    argv = ["run", "--seeds", str(seeds), "--out", str(out)]
    assert cli.main(argv) == 0 and cli.main(argv) == 0
    assert len(flow.calls) == 3  # the first run could not be sure it saw the file's last change
    assert not (out / unchanged.RECORD).exists()


def test_an_unchanged_rerun_keeps_the_exit_status_and_reasons_of_rejected_files(
    seeds_copy, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(unchanged, "SETTLE", 0.0)
    (seeds_copy / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    argv = ["run", "--seeds", str(seeds_copy), "--out", str(out), "--no-reports"]
    assert cli.main([*argv, "--strict"]) == 1
    monkeypatch.setattr(flows, "run_flow", _Flow())
    capsys.readouterr()
    assert cli.main([*argv, "--strict"]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("nothing changed") and "  rejected: 1 (1 input" in printed
    assert "    empty.txt: empty file" in printed
    assert cli.main(argv) == 0


@pytest.mark.parametrize(
    "summary",
    [
        {"rejected": 1, "rejects": [("slow.txt", "budget", "over the time budget of 30 s per article")]},
        {"rejected": 1, "rejects": [("bad.txt", "failure", "ValueError: a bug")]},
        {"rejected": 1, "rejects": [("gone.txt", "unreadable", "Input/output error")]},
        {"kept_unreadable": 2},
    ],
    ids=["over budget", "pipeline failure", "unreadable", "kept unreadable"],
)
def test_a_run_with_a_reject_that_may_pass_next_time_is_not_recorded(ran, monkeypatch, summary):
    seeds, out, _ = ran
    flow = _Flow(**summary)
    monkeypatch.setattr(flows, "run_flow", flow)
    argv = ["run", "--seeds", str(seeds), "--out", str(out), "--full"]
    assert cli.main(argv) == 0
    assert cli.main(argv[:-1]) == 0 and cli.main(argv[:-1]) == 0
    assert len(flow.calls) == 3  # every run reads such files again


def test_an_input_rejected_for_what_it_is_stays_recorded(ran, monkeypatch):
    seeds, out, _ = ran
    flow = _Flow(rejected=1, rejects=[("empty.txt", "input", "empty file")])
    monkeypatch.setattr(flows, "run_flow", flow)
    argv = ["run", "--seeds", str(seeds), "--out", str(out)]
    assert cli.main([*argv, "--full"]) == 0 and cli.main(argv) == 0
    assert len(flow.calls) == 1


def test_code_that_cannot_be_read_counts_as_changed(monkeypatch):
    from pipeline import render

    def no_notebooks() -> Path:
        raise unchanged.PipelineError("report notebooks not found")

    before = unchanged.code_digest()
    monkeypatch.setattr(render, "notebooks_dir", no_notebooks)
    assert unchanged.code_digest() != before  # and no error: a run without reports needs no notebooks


def test_a_record_that_cannot_be_written_leaves_the_run_a_success(ran, monkeypatch, capsys):
    seeds, out, _ = ran

    def full_disk(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(unchanged.io, "write_bytes", full_disk)
    assert cli.main(["run", "--seeds", str(seeds), "--out", str(out), "--full"]) == 0
    assert "summary" in capsys.readouterr().out


def test_a_record_that_cannot_be_read_is_not_trusted(ran):
    seeds, out, flow = ran
    record = out / unchanged.RECORD
    argv = ["run", "--seeds", str(seeds), "--out", str(out)]
    for text in ("{not json", '{"key": 1}', "[]", ""):
        record.write_text(text, encoding="utf-8")
        assert cli.main(argv) == 0
    assert len(flow.calls) == 5


def test_looking_imports_neither_prefect_nor_spacy(seeds_copy):
    from .conftest import ROOT, run_python

    probe = (
        "import sys, time; from pathlib import Path; from pipeline import unchanged; "
        f"look = unchanged.look(Path({str(seeds_copy)!r}), {{}}, None); "
        "print(look.files, 'prefect' in sys.modules, 'spacy' in sys.modules)"
    )
    done = run_python(["-c", probe], ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["5", "False", "False"]


def test_the_fingerprint_is_the_package_content_not_what_lies_beside_it(tmp_path, monkeypatch):
    """An editor's backup, a swap file or a compiled cache in the package folder changes nothing; an edit to
    a rule changes the fingerprint (and so whether earlier rows are reused)."""
    import shutil

    from pipeline import ids

    package = tmp_path / "pipeline"
    shutil.copytree(ids.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(ids, "PACKAGE", package)

    def fingerprint() -> str:
        ids.fingerprint.cache_clear()
        return ids.fingerprint()

    try:
        before = fingerprint()
        rules = package / "data" / "extract" / "figures.yaml"
        (rules.parent / "figures.yaml~").write_text("backup", encoding="utf-8")
        (rules.parent / ".figures.yaml.swp").write_bytes(b"\0swap")
        (package / "__pycache__").mkdir(exist_ok=True)
        (package / "__pycache__" / "ids.cpython-311.pyc").write_bytes(b"\0")
        with open(os.path.join(os.fsencode(package), b"notes_\xff.txt"), "wb") as f:  # a name not UTF-8
            f.write(b"x")
        assert fingerprint() == before
        rules.write_text(rules.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
        assert fingerprint() != before
    finally:
        ids.fingerprint.cache_clear()
