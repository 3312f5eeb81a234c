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


def test_cells_are_readable():
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
    assert params == cli_options - {"out", "as-of"}  # where the report goes; which run's datasets it reads


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
                if f in s:  # a figure is its own cell, hedge and all ("more than 370")
                    assert re.search(rf">(?:[a-z]+ )*{s[f]}<", strikes), (f, s[f])
        for t in g["talks"]:
            assert t["venue"] in talks


def _section(page: str, heading_id: str) -> str:
    """The text of a report section: from its heading to the next one, tags left out."""
    start = page.index(f'id="{heading_id}"')
    following = page.find("<h2", start)
    return re.sub(r"<[^>]*>", " ", page[start : following if following > 0 else len(page)])


def _with_one_unconfirmed(datasets: Path, kind: str, tmp: Path) -> Path:
    """A copy of ``datasets`` whose least sure event of ``kind`` is below the confirmed level (when the run
    has none of that kind there, the test would not tell the two apart)."""
    copy = tmp / "datasets"
    shutil.copytree(datasets, copy)
    level = report.confirmed_level()
    for part in sorted((copy / "events").rglob("*.parquet")):
        events = pd.read_parquet(part)
        mine = events[(events["kind"] == kind) & events["confirmed"]]
        if len(mine) > 1 and not ((events["kind"] == kind) & ~events["confirmed"]).any():
            i = mine["confidence"].idxmin()
            events.loc[i, ["confidence", "confirmed"]] = [round(level - 0.2, 3), False]
            events.to_parquet(part, index=False)
            break
    return copy


@pytest.mark.flow
def test_unconfirmed_events_are_shown_apart_in_both_reports(seed_run, tmp_path):
    out = seed_run[1]
    level = report.confirmed_level()
    for kind, name, main in (("strike", "strikes", "Places-hit,-with-their-figures"), ("talks", "talks", "Rounds")):
        events = pd.read_parquet(out / "datasets" / "events")
        assert (events["confirmed"] == (events["confidence"] >= level)).all()  # no correction in the seed run
        page_dir = out
        if events[(events["kind"] == kind) & ~events["confirmed"]].empty:
            datasets = _with_one_unconfirmed(out / "datasets", kind, tmp_path / kind)
            page_dir = tmp_path / kind
            render_report(name, datasets, page_dir)
            events = pd.read_parquet(datasets / "events")
        mine = events[events["kind"] == kind]
        doubtful, sure = mine[~mine["confirmed"]], mine[mine["confirmed"]]
        assert len(doubtful) and len(sure), kind  # both: the test can tell them apart
        page = _html(page_dir, name)
        apart, kept = _section(page, "Unconfirmed"), _section(page, main)
        for _, e in doubtful.iterrows():
            assert e["place"] in apart and f"{e['confidence']:g}" in apart, (kind, e["place"])
            if e["place"] not in set(sure["place"]):
                assert e["place"] not in kept, (kind, e["place"])
        assert f"{len(doubtful)} {'strike events' if kind == 'strike' else 'rounds'} below the confirmed" in page


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
    text = re.sub(r"<[^>]*>", "", index)
    assert "from 2026-01-20 · to 2026-01-31 · places Kyiv, Kharkiv" in text and "from 1990-01-01" in text
    assert "[&#x27;" not in index and "=" not in re.sub(r"<[^>]*>", "", index)


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
        (["--as-of", "20260101T000000.000000Z-00000000"], "no snapshot of run"),
        (["--as-of", "x", "--datasets", "{tmp}"], "either --as-of RUN_ID or --datasets DIR"),
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


# --------------------------------------------------------------------------- figures, headline, map: invented rows


def _frame(schema, rows):
    """A DataFrame of ``schema`` from partial rows (lists empty, flags false, the rest null unless given)."""
    import pyarrow as pa

    def default(field):
        if pa.types.is_list(field.type):
            return []
        if pa.types.is_boolean(field.type):
            return False
        return "" if not field.nullable and pa.types.is_string(field.type) else None

    full = [{f.name: row.get(f.name, default(f)) for f in schema} for row in rows]
    return pa.Table.from_pylist(full, schema=schema).to_pandas()


N1, N2 = dt.date(2026, 3, 1), dt.date(2026, 3, 5)  # far enough apart to be two events
_COORDS = {"Kharkiv": (49.98, 36.25), "Kharkiv Oblast": (49.98, 36.25), "Kyiv": (50.45, 30.52), "Ukraine": (49, 31.4)}
_ADMIN = {"Kharkiv": "Kharkiv Oblast", "Kharkiv Oblast": "Kharkiv Oblast", "Kyiv": "Kyiv"}


def _strike_world(claims):
    """Strike claims (place, date, article, figures, hedges) and the events reconciliation makes of them."""
    from pipeline import schemas
    from pipeline.reconcile import build_events

    rows = []
    for i, (place, date, article, figures, hedges) in enumerate(claims):
        lat, lon = _COORDS[place]
        rows.append(
            {f: None for f in schemas.FIGURES}
            | {
                "strike_id": f"s{i}",
                "article_id": article,
                "date": date,
                "place": place,
                "country": "UA",
                "admin1": _ADMIN.get(place),
                "lat": lat,
                "lon": lon,
                "attacker": "Russia",
                "evidence": f"sentence {i}",
                "hedges": [{"field": f, "words": w} for f, w in hedges.items()],
                "has_figures": bool(figures),
                **figures,
            }
        )
    strikes = _frame(schemas.STRIKES, rows)
    ids = sorted({r["article_id"] for r in rows})
    meta = [{"article_id": a, "outlet": f"Outlet {a}", "source_file": f"{a}.txt", "published": N2} for a in ids]
    articles = _frame(schemas.ARTICLES, meta)
    events = build_events(rows, [], meta).to_pandas()
    return report.strike_events(events, strikes, articles), strikes, articles


def test_figures_keep_their_ranges_and_hedges():
    A = report.Amount
    assert A(370, 370, "more than", "more than").text() == "more than 370"
    assert A(11, 31).text() == "11–31" and A(4, 4).text() == "4" and A().text() == ""
    assert A(11, 31, "at least", None).text() == "at least 11 to 31"
    assert report.total([A(370, 370, "more than", "more than"), A(100, 100)]).text() == "470*"
    assert report.total([A(2, 2), A(3, 5)]).text() == "5–7"
    assert report.total([A(), A(9, 9, "over", "over")]).text() == "over 9"
    assert report.larger(A(18, 35), A(15, 40)).text() == "18–40"


def test_a_bound_is_hedged_only_when_every_source_giving_it_hedges_it():
    rows, _, _ = _strike_world(
        [
            ("Kyiv", N1, "a", {"injured": 11}, {"injured": "at least"}),
            ("Kyiv", N1, "a", {"injured": 9}, {}),  # the article's highest figure is the one kept
            ("Kyiv", N1, "b", {"injured": 31}, {}),
            ("Kyiv", N1, "c", {"injured": 31}, {"injured": "more than"}),
        ]
    )
    assert rows.loc[0, "injured"] == "at least 11 to 31"


def test_the_headline_counts_a_city_and_its_oblast_once_and_a_nationwide_tally_against_its_places():
    rows, _, _ = _strike_world(
        [
            ("Ukraine", N1, "a", {"drones": 370, "killed": 2}, {"drones": "more than"}),
            ("Kharkiv", N1, "a", {"killed": 2}, {}),
            ("Kharkiv Oblast", N1, "b", {"killed": 3}, {}),  # the oblast's toll includes the city's
            ("Kyiv", N1, "b", {"killed": 1}, {}),
            ("Kyiv", N2, "c", {"killed": 4, "injured": 6}, {}),
            ("Kharkiv", N2, "c", {}, {}),
        ]
    )
    (side,) = report.headline_figures(rows).values()
    assert side["nights with strikes"] == "2"
    assert side["places hit"] == "2"  # Kharkiv with its oblast, and Kyiv
    assert side["drones launched"] == "more than 370"
    # night 1: the larger of the nationwide 2 and the places' 3 (oblast) + 1 (Kyiv); night 2: 4
    assert side["people killed"] == "8"
    assert side["people injured"] == "6" and side["missiles launched"] == "not given"
    assert side["sources (articles)"] == "3"
    box = report.headline(rows)
    assert "more than 370" in box and "strikes by Russia" in box


def test_nationwide_tallies_and_figureless_places_are_apart_from_the_places_with_figures():
    rows, strikes, articles = _strike_world(
        [
            ("Ukraine", N1, "a", {"drones": 50}, {}),
            ("Kyiv", N1, "a", {"injured": 3}, {}),
            ("Kharkiv", N1, "b", {}, {}),
        ]
    )
    nation, places, bare = report.nationwide_table(rows), report.places_table(rows), report.unquantified_table(rows)
    assert "Ukraine" in nation and "Kyiv" not in nation
    assert "Kyiv" in places and "Ukraine" not in places and "Kharkiv" not in places
    assert "Kharkiv" in bare and "Kyiv" not in bare
    assert "<th>missiles</th>" not in places  # a figure no source gives has no column
    every = report.claims_table(strikes, articles)
    for link in re.findall(r'href="#([^"]+)"', places + bare):
        assert f'id="{link}"' in every  # each source link lands on its sentence


def test_the_map_draws_one_marker_per_place_and_labels_that_do_not_overlap():
    rows, _, _ = _strike_world(
        [
            ("Ukraine", N1, "a", {"drones": 50}, {}),
            ("Kharkiv", N1, "a", {"injured": 3}, {}),
            ("Kharkiv Oblast", N1, "b", {"injured": 5}, {}),
            ("Kyiv", N1, "a", {"killed": 1}, {}),
            ("Kyiv", N2, "b", {"killed": 2}, {}),
        ]
    )
    markers = {m.label: m for m in report.map_markers(rows)}
    assert set(markers) == {"Kharkiv (city and oblast)", "Kyiv"}
    assert markers["Kyiv"].nights == 2 and markers["Kyiv"].people == 3
    assert markers["Kharkiv (city and oblast)"].people == 5  # the larger of 3 and 5 that night, not 8
    fig = report.plot_map(rows)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 2
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_crowded_labels_never_overprint(monkeypatch):
    from pipeline.report import Marker

    crowded = [Marker(f"Place {i}", 50 + 0.05 * i, 30 + 0.05 * i, "Russia", 1, 0) for i in range(12)]
    monkeypatch.setattr(report, "map_markers", lambda rows: crowded)
    fig = report.plot_map(pd.DataFrame())
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts if t.get_text().startswith("Place")]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    numbered = [t for t in fig.axes[0].texts if t.get_text().isdigit()]
    assert len(boxes) + len(numbered) == 12  # every marker is named on the map or in its key
    every = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert not any(a.overlaps(b) for i, a in enumerate(every) for b in every[i + 1 :])  # numbers included


def test_targets_count_events_not_sentences():
    rows, _, _ = _strike_world([("Kyiv", N1, a, {}, {}) for a in "abcd"])
    rows["targets"] = [["energy"]]
    fig = report.plot_targets(rows)
    (bar,) = fig.axes[0].patches
    assert bar.get_width() == 1


def test_source_links_only_follow_web_addresses():
    link = report.source_link({"outlet": "Outlet", "source_file": "a.txt", "url": "https://example.org/a"})
    assert '<a href="https://example.org/a">Outlet</a>' in link and "a.txt" in link
    bad = report.source_link({"outlet": None, "source_file": "b.txt", "url": "javascript:alert(1)"})
    assert "href" not in bad and "b.txt" in bad
    assert report.links_html([("s1", "BBC"), ("s2", "BBC"), ("s3", "CNN")]).count("<a ") == 2


def _talks_world(reports, published):
    """Talks reports (id, article, venue, start, status) and the tables a talks report reads."""
    from pipeline import schemas
    from pipeline.reconcile import build_events

    talks = [
        {
            "talk_id": tid,
            "article_id": a,
            "venue": venue,
            "country": "CH",
            "start_date": start,
            "end_date": None,
            "status": status,
            "parties": ["Russia", "Ukraine"],
            "mediators": ["Switzerland"],
            "delegates": [f"Delegate {tid}"],
            "evidence": f"report {tid}",
        }
        for tid, a, venue, start, status in reports
    ]
    meta = [
        {"article_id": a, "outlet": f"Outlet {a}", "source_file": f"{a}.txt", "published": d}
        for a, d in published.items()
    ]
    return {
        "talks": _frame(schemas.TALKS, talks),
        "articles": _frame(schemas.ARTICLES, meta),
        "events": build_events([], talks, meta).to_pandas(),
    }


def test_a_round_shows_its_history_in_publication_order_and_its_people_apart():
    day = dt.date(2026, 3, 1)
    tables = _talks_world(
        [
            ("t3", "c", "Geneva", day, "held"),
            ("t1", "a", "Geneva", day, "planned"),
            ("t2", "b", "Geneva", day, "ongoing"),
            ("t4", "d", "Geneva", day, "held"),
        ],
        {"a": dt.date(2026, 2, 25), "b": day, "c": dt.date(2026, 3, 2), "d": dt.date(2026, 3, 3)},
    )
    events = tables["events"]
    history = report.round_history(tables["talks"], report._article_meta(tables["articles"]))
    assert history == (
        "planned (2026-02-25: Outlet a) → ongoing (2026-03-01: Outlet b) → "
        "held (2026-03-02 to 2026-03-03: Outlet c, Outlet d)"
    )
    table = report.rounds_table(events, tables["talks"], tables["articles"])
    assert "<th>mediators</th>" in table and "Switzerland" in table and "Delegate t1" in table


def test_announced_next_holds_only_rounds_after_the_end_or_undated():
    tables = _talks_world(
        [
            ("t1", "a", "Geneva", dt.date(2026, 2, 15), "held"),
            ("t2", "a", "Riyadh", dt.date(2026, 2, 20), "planned"),
            ("t3", "b", "Istanbul", dt.date(2026, 3, 10), "planned"),
            ("t4", "b", "Vienna", None, "planned"),
        ],
        {"a": dt.date(2026, 2, 10), "b": dt.date(2026, 2, 25)},
    )
    upto_march = report.next_table(tables, report.selection(None, "2026-03-01"))
    assert "Istanbul" in upto_march and "Vienna" in upto_march and "no date given" in upto_march
    assert "Riyadh" not in upto_march and "Geneva" not in upto_march
    latest = report.next_table(tables, report.selection())  # no end: after the newest article, 25 February
    assert "Vienna" in latest and "Istanbul" in latest and "Riyadh" not in latest
    upto_mid_march = report.next_table(tables, report.selection(None, "2026-03-15"))
    assert "Vienna" in upto_mid_march and "Istanbul" not in upto_mid_march  # its day has come by then


def test_announced_next_is_what_had_been_announced_by_the_end():
    tables = _talks_world(
        [
            ("t1", "a", "Geneva", dt.date(2026, 3, 1), "planned"),  # announced on 20 February ...
            ("t2", "b", "Geneva", dt.date(2026, 3, 3), "held"),  # ... held two days late
            ("t3", "c", "Riyadh", dt.date(2026, 3, 20), "planned"),  # announced only after the end
        ],
        {"a": dt.date(2026, 2, 20), "b": dt.date(2026, 3, 4), "c": dt.date(2026, 3, 10)},
    )
    february = report.next_table(tables, report.selection(None, "2026-02-25"))
    assert "Geneva" in february and "2026-03-01" in february and "held" in february  # and what became of it
    assert "Riyadh" not in february
    march = report.next_table(tables, report.selection(None, "2026-03-05"))
    assert "Geneva" not in march and "Riyadh" not in march


@pytest.mark.flow
@pytest.mark.parametrize("width", [1280, 1024])
def test_the_reports_open_offline_in_a_real_browser_and_fit_the_page(seed_run, tmp_path_factory, width):
    """Each page, opened in headless Chromium with the network off, asks for nothing outside its file,
    shows its charts, and has no table wider than the window. A screenshot of each stays for a person."""
    import os

    from .browser import Browser, find_chromium

    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium: .ci/run installs Debian's chromium package for this test")
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    shots = tmp_path_factory.mktemp(f"screenshots-{width}")
    with Browser(executable, width=width) as browser:
        for name in ("index", "strikes", "talks"):
            check = browser.check(seed_run[1] / "reports" / f"{name}.html", shots / f"{name}.png")
            outside = [u[:80] for u in check.requests if not u.startswith(("file:", "data:"))]
            assert not outside and not check.failed, (name, outside, check.failed)
            layout = check.layout
            assert layout["scrollWidth"] <= layout["width"] == width, (name, layout["scrollWidth"])
            for table in layout["tables"]:
                assert table["left"] >= 0 and table["right"] <= layout["width"], (name, table)
            assert all(image["complete"] and image["width"] > 0 for image in layout["images"]), name
            charts = {"index": 0, "talks": 1, "strikes": 3}[name]  # launches, map and targets on the seeds
            assert layout["text"] > 200 and len(layout["images"]) >= charts, name
            assert check.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshots: {shots}")


def test_reports_render_side_by_side_and_one_failing_lets_the_other_finish(monkeypatch, tmp_path):
    import threading
    import time

    from pipeline import render

    started: list[str] = []
    both = threading.Barrier(2, timeout=10)  # each waits for the other to start: they run at once

    def fake(kind, datasets, out_dir):
        started.append(kind)
        both.wait()
        if kind == "talks":
            raise render.ReportError("notebook talks.ipynb failed in cell 3")
        time.sleep(0.1)
        return render.Rendered(kind, kind, {}, "", "", f"{kind}.html", f"{kind}.ipynb")

    monkeypatch.setattr(render, "render_report", fake)
    with pytest.raises(render.ReportError, match=r"talks\.ipynb"):
        render.render_reports(["talks", "strikes"], tmp_path, tmp_path)
    assert sorted(started) == ["strikes", "talks"]
    monkeypatch.setattr(render, "render_report", lambda kind, *_: render.Rendered(kind, kind, {}, "", "", kind, kind))
    assert [r.html for r in render.render_reports(["talks", "strikes"], tmp_path, tmp_path)] == ["talks", "strikes"]


def test_a_title_is_part_of_the_report_name_so_two_titled_reports_both_stay():
    plain = report_name("strikes", None, None, None)
    first = report_name("strikes", None, None, None, "Week four: Kyiv & Kharkiv")
    second = report_name("strikes", None, None, None, "Week five")
    assert first == "strikes_week-four-kyiv-kharkiv" and second == "strikes_week-five"
    assert len({plain, first, second}) == 3
    assert report_name("talks", "2026-01-20", None, ["Kyiv"], "Abu Dhabi") == "talks_2026-01-20_latest_Kyiv_abu-dhabi"
    assert report_name("talks", None, None, None, "«»").startswith("talks_")  # no letter to keep: a digest
    assert report_name("talks", None, None, None, "«»") != report_name("talks", None, None, None, "—")


def test_titles_a_slug_cannot_keep_apart_are_kept_apart_by_a_digest():
    first, second = (report_name("talks", None, None, None, t) for t in ("Тиждень 1", "Неділя 1"))
    assert first != second and first.startswith("talks_1-") and second.startswith("talks_1-")
    long_a, long_b = (report_name("talks", None, None, None, "A very long title about the talks " + x) for x in "AB")
    assert long_a != long_b


def test_confirmed_apart_splits_on_the_events_column_and_keeps_old_datasets_whole():
    events = pd.DataFrame({"place": ["Kyiv", "Sumy", "Lviv"], "confirmed": [True, False, True]})
    sure, doubtful = report.confirmed_apart(events)
    assert sure["place"].tolist() == ["Kyiv", "Lviv"] and doubtful["place"].tolist() == ["Sumy"]
    assert "1 strike events below the confirmed level" in report.unconfirmed_note(doubtful, "strike events")
    assert report.unconfirmed_note(sure.iloc[0:0], "rounds") == ""
    old = events.drop(columns="confirmed")  # written before the column was
    whole, none = report.confirmed_apart(old)
    assert len(whole) == 3 and len(none) == 0
    read_back = events.assign(confirmed=[None, None, None])  # the column as an older dataset reads
    whole, none = report.confirmed_apart(read_back)
    assert len(whole) == 3 and len(none) == 0


def test_quotes_whose_speaker_is_unconfirmed_are_listed_apart():
    from pipeline import schemas

    level = report.confirmed_level()
    said = [
        ("Ann Lee", "We hold the line on land", level + 0.05, "attribution beside the quote"),
        ("Bo Park", "No inch of soil is for sale", level - 0.3, "continued quotation"),
    ]
    quotes = [
        {"quote_id": f"q{i}", "article_id": "a", "sentence_idx": i, "text": text, "speaker": who}
        | {"confidence": confidence, "confidence_basis": basis}
        for i, (who, text, confidence, basis) in enumerate(said)
    ]
    sentences = [
        {"article_id": "a", "sentence_idx": i, "text": q["text"], "tags": ["territory"]} for i, q in enumerate(quotes)
    ]
    tables = {
        "quotes": _frame(schemas.QUOTES, quotes),
        "sentences": _frame(schemas.SENTENCES, sentences),
        "articles": _frame(schemas.ARTICLES, [{"article_id": "a", "outlet": "Outlet", "published": N1}]),
    }
    sel = report.selection()
    main = report.positions_table(tables, sel, ["territory"])
    apart = report.positions_table(tables, sel, ["territory"], unconfirmed=True)
    assert "Ann Lee" in main and "Bo Park" not in main
    assert "Bo Park" in apart and "Ann Lee" not in apart and "continued quotation" in apart
