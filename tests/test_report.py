"""Reports: the notebooks executed on the seed datasets, rendered offline, escaped, parameterised."""

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline import cli, report
from pipeline.render import ReportError, render_report, report_name

from .conftest import ROOT, run_python

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _html(out: Path, name: str) -> str:
    return (out / "reports" / f"{name}.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- helpers


def test_fmt_range_and_cells_are_readable():
    assert report.fmt_range(11, 31) == "11–31"
    assert report.fmt_range(4, 4) == "4"
    assert report.fmt_range(None, None) == ""
    assert report.fmt_cell(["Russia", "Ukraine"]) == "Russia, Ukraine"
    assert report.fmt_cell(float("nan")) == "" and report.fmt_cell(None) == "" and report.fmt_cell(pd.NaT) == ""
    assert report.fmt_cell(31.0) == "31"


def test_html_table_escapes_everything():
    df = pd.DataFrame({"text": ['<img src=x onerror="alert(1)"> & <script>x</script>']})
    out = report.html_table(df, {"text": "quote"})
    assert "<script>x" not in out and "<img src=x" not in out
    assert "&lt;script&gt;" in out and "&lt;img" in out
    assert "Nothing" in report.html_table(df.iloc[0:0], {"text": "quote"})


def test_selection_parameters():
    sel = report.selection("2026-01-20", None, "Kyiv, Kharkiv")
    assert sel == report.Selection(dt.date(2026, 1, 20), None, ("Kyiv", "Kharkiv"))
    assert report.selection() == report.Selection()
    with pytest.raises(ValueError):
        report.selection("20 January")


def test_report_names_carry_their_parameters():
    assert report_name("strikes", None, None, None) == "strikes"
    assert report_name("strikes", "2026-01-20", "2026-01-31", ["Kyiv", "Kharkiv"]) == (
        "strikes_2026-01-20_2026-01-31_Kyiv-Kharkiv"
    )


def test_outline_ships_with_the_package():
    names = {c.iso_a3 for c in report.load_outline()}
    assert {"UKR", "RUS", "POL", "BLR", "MDA", "ROU"} <= names


# --------------------------------------------------------------------------- notebooks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_parameters_match_the_cli(path, capsys):
    import papermill

    params = set(papermill.inspect_notebook(str(path)))
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    help_text = capsys.readouterr().out
    cli_options = {word[2:] for word in help_text.split() if word.startswith("--") and word != "--help"}
    assert params == cli_options - {"out"}


# --------------------------------------------------------------------------- rendered on the seeds


@pytest.mark.flow
def test_flow_renders_both_reports_and_an_index(seed_run, gold):
    out = seed_run[1]
    index = (out / "reports" / "index.html").read_text(encoding="utf-8")
    for name in ("talks", "strikes"):
        page = _html(out, name)
        assert "data:image/png;base64," in page  # charts are embedded
        assert "<script" not in page  # runs nothing
        assert not re.search(r"(?:src|href)=[\"']https?://|url\(https?://", page)  # loads nothing: opens offline
        assert "hl-ipython3" not in page and "import report" not in page  # no code cell is shown
        for junk in (">nan<", ">NaN<", ">None<", ">NaT<", ">[]<", "[&#x27;"):  # no raw reprs in tables
            assert junk not in page, junk
        assert f'href="{name}.html"' in index
        assert (out / "reports" / f"{name}.ipynb").is_file()
    strikes, talks = _html(out, "strikes"), _html(out, "talks")
    for g in gold:
        for s in g["strikes"]:
            for f in ("drones", "missiles"):
                if f in s:
                    assert f">{s[f]}<" in strikes, (f, s[f])
        for t in g["talks"]:
            assert t["venue"] in talks


@pytest.mark.flow
def test_a_date_range_leaves_out_later_strikes(seed_run, gold, tmp_path):
    datasets = seed_run[1] / "datasets"
    end = dt.date(2026, 1, 31)
    late = {s["place"] for g in gold for s in g["strikes"] if s.get("date") and dt.date.fromisoformat(s["date"]) > end}
    early = {
        s["place"] for g in gold for s in g["strikes"] if s.get("date") and dt.date.fromisoformat(s["date"]) <= end
    }
    only_late = late - early
    assert only_late
    render_report("strikes", datasets, tmp_path, end=end.isoformat())
    page = _html(tmp_path, report_name("strikes", None, end.isoformat(), None))
    full = _html(seed_run[1], "strikes")
    for place in only_late:
        assert place in full and place not in page, place


@pytest.mark.flow
def test_places_and_empty_selections_render(seed_run, tmp_path, capsys):
    out = seed_run[1]
    code = cli.main(
        [
            "report",
            "strikes",
            "--datasets",
            str(out / "datasets"),
            "--out",
            str(tmp_path),
            "--start",
            "2026-01-20",
            "--end",
            "2026-01-31",
            "--places",
            "Kyiv,Kharkiv",
        ]
    )
    assert code == 0
    page = _html(tmp_path, "strikes_2026-01-20_2026-01-31_Kyiv-Kharkiv")
    assert "Kyiv" in page and "Odesa" not in page and "Dnipropetrovsk" not in page
    for kind, message in (("strikes", "No strikes were reported"), ("talks", "No negotiating rounds were reported")):
        render_report(kind, out / "datasets", tmp_path, start="1990-01-01", end="1990-01-31")
        assert message in _html(tmp_path, report_name(kind, "1990-01-01", "1990-01-31", None))
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "places=[&#x27;Kyiv&#x27;, &#x27;Kharkiv&#x27;]" in index and "1990-01-01" in index


@pytest.mark.flow
def test_html_in_articles_is_shown_as_text(tmp_path, prefect_server):
    from pipeline.flows import news_pipeline

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "payload.txt").write_text(
        " date 2026-03-02 Russian drones hit Kyiv overnight <script>alert(1)</script>, killing two people, "
        "Mayor Vitali Klitschko said.\n\n"
        "“We will not give up our land <img src=x onerror=alert(2)>,” Volodymyr Zelensky said on Telegram "
        "about the talks in Geneva on territory.\n\n"
        "Delegations will meet in Geneva next week for talks on territory, officials said.\n",
        encoding="utf-8",
    )
    news_pipeline(seeds_dir=seeds, out_dir=tmp_path / "out", reports=True)
    for name in ("strikes", "talks"):
        page = _html(tmp_path / "out", name)
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _html(tmp_path / "out", "strikes")
    assert "&lt;img src=x onerror=alert(2)&gt;" in _html(tmp_path / "out", "talks")


@pytest.mark.flow
def test_a_failing_notebook_names_its_cell_and_keeps_the_previous_report(seed_run, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(seed_run[1] / "datasets", out / "datasets")
    render_report("strikes", out / "datasets", out)
    before = _html(out, "strikes")
    broken = tmp_path / "notebooks"
    broken.mkdir()
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        nb["cells"].insert(
            2,
            {
                "cell_type": "code",
                "id": "boom",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": "raise RuntimeError('broken on purpose')",
            },
        )
        (broken / path.name).write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setenv("PIPELINE_NOTEBOOKS", str(broken))
    with pytest.raises(ReportError, match=r"strikes\.ipynb failed in cell .*broken on purpose"):
        render_report("strikes", out / "datasets", out)
    assert _html(out, "strikes") == before
    assert not list((out / "reports").glob(".tmp-*"))


def test_a_wheel_install_renders_the_reports_from_the_notebooks_it_ships(seed_run, tmp_path):
    """The notebooks travel inside the package: a wheel installed outside the repository renders."""
    import subprocess
    import sys
    import zipfile

    wheels, site = tmp_path / "wheels", tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("*.whl")
    assert {"pipeline/notebooks/strikes.ipynb", "pipeline/notebooks/talks.ipynb"} <= set(
        zipfile.ZipFile(wheel).namelist()
    )
    zipfile.ZipFile(wheel).extractall(site)  # what pip install --target does for a pure-Python wheel
    script = (
        "import sys, pipeline, pipeline.render as r; from pathlib import Path\n"
        f"assert pipeline.__file__.startswith({str(site)!r}), pipeline.__file__\n"
        f"print(r.render_report('strikes', Path(sys.argv[1]), Path(sys.argv[2])).html, r.notebooks_dir())\n"
    )
    out = tmp_path / "out"
    done = run_python(["-c", script, str(seed_run[1] / "datasets"), str(out)], tmp_path, {"PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr[-2000:]
    html, folder = done.stdout.split()
    assert folder.startswith(str(site)) and (out / "reports" / html).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-13-01"], "is not a day in the form YYYY-MM-DD"),
        (["--end", "January"], "is not a day in the form YYYY-MM-DD"),
        (["--start", "2026-02-01", "--end", "2026-01-01"], "is after --end"),
        (["--places", " , "], "names no place"),
        (["--datasets", "{tmp}/nowhere"], "no datasets in"),
    ],
)
def test_bad_report_arguments_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    argv = ["report", "strikes", "--out", str(tmp_path / "o"), *(a.format(tmp=tmp_path) for a in args)]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1 and message in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "o" / "reports").exists()


def test_an_unknown_report_kind_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["report", "maps"])
    assert stop.value.code == 2 and "invalid choice: 'maps'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, [], "PREFECT_API_URL is not set"),
        ({"PREFECT_API_URL": "http://127.0.0.1:9/api"}, [], "no Prefect server answers at http://127.0.0.1:9/api"),
        ({}, ["--cron", "every hour"], "is not a cron schedule"),
    ],
)
def test_serve_refuses_to_start_without_a_server_and_says_how_to_start_one(tmp_path, env, args, message):
    """``serve`` against the ephemeral server would claim to poll for runs that never come."""
    argv = ["-m", "pipeline", "serve", "--seeds", str(tmp_path), "--out", str(tmp_path / "o"), *args]
    done = run_python(argv, ROOT, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert "polling" not in done.stdout + done.stderr
    if "cron" not in message:
        assert "prefect server start" in done.stderr
