"""Quality on the gold sets: the real flow on the seeds and on the 24 development articles, scored by the
gold scorer against the floors in tests/gold/floors.toml (the held-out articles are scored the same way)."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pipeline import evaluate
from pipeline.flows import news_pipeline

from .conftest import GOLD_DIR

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]

FLOORS: dict[str, dict[str, float]] = tomllib.loads((GOLD_DIR / "floors.toml").read_text(encoding="utf-8"))
GOLD = {
    "seeds": GOLD_DIR / "seeds.gold.json",
    "dev": GOLD_DIR / "dev" / "gold.json",
    "dev2": GOLD_DIR / "dev2" / "gold.json",
}


def _run_on(name: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    root = tmp_path_factory.mktemp(f"{name}_run")
    shutil.copytree(GOLD_DIR / name / "articles", root / "articles")
    summary = news_pipeline(seeds_dir=root / "articles", out_dir=root / "out", reports=False)
    return summary, root / "out"


@pytest.fixture(scope="session")
def dev_run(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> tuple[Any, Path]:
    return _run_on("dev", tmp_path_factory)


@pytest.fixture(scope="session")
def dev2_run(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> tuple[Any, Path]:
    return _run_on("dev2", tmp_path_factory)


@pytest.fixture(scope="session")
def runs(
    seed_run: tuple[Any, Path], dev_run: tuple[Any, Path], dev2_run: tuple[Any, Path]
) -> dict[str, tuple[Any, Path]]:
    return {"seeds": seed_run, "dev": dev_run, "dev2": dev2_run}


@pytest.fixture(scope="session")
def scores(runs: dict[str, tuple[Any, Path]]) -> dict[str, dict[str, float]]:
    """The scorer's metrics, and what a user keeps of the strike figures at the confirmed level
    (``confirmed_figures_*``), as ``pipeline eval`` prints them."""
    scorer = evaluate.load_scorer(GOLD_DIR / "score.py")
    out = {}
    for name, (_, run) in runs.items():
        datasets, gold = run / "datasets", evaluate.load_gold(GOLD[name])
        out[name] = evaluate.metrics(scorer, datasets, GOLD[name])[0] | evaluate.confirmed_scores(
            scorer, datasets, gold
        )
    return out


def test_every_gold_article_is_ingested(runs):
    for name, (summary, _) in runs.items():
        gold = evaluate.load_gold(GOLD[name])
        assert (summary.articles, summary.rejected) == (len(gold), 0), name


def test_the_floors_cover_every_metric_the_issue_set():
    assert {"strike_claimed_by", "talks_end", "talks_delegates_f1", "quotes_speaker"} <= set(FLOORS["seeds"])
    assert {"strike_facts_precision", "strike_places_precision", "body_drops", "people_f1"} <= set(FLOORS["dev"])
    assert set(FLOORS) == set(GOLD)  # every gold set is scored
    assert set(FLOORS["dev2"]) >= set(FLOORS["dev"]) | {"talks_precision", "authors_exact"}


@pytest.mark.parametrize(("gold_set", "metric"), [(g, m) for g, floors in FLOORS.items() for m in floors])
def test_quality_floors(scores, gold_set, metric):
    floor = FLOORS[gold_set][metric]
    assert scores[gold_set][metric] >= floor, f"{gold_set} {metric}: {scores[gold_set][metric]} < floor {floor}"


def test_the_diff_lays_gold_beside_rows(runs):
    scorer = evaluate.load_scorer(GOLD_DIR / "score.py")
    _, out = runs["dev"]
    lines = evaluate.diff(scorer, out / "datasets", evaluate.load_gold(GOLD["dev"]))
    files = [g["file"] for g in evaluate.load_gold(GOLD["dev"])]
    assert [ln for ln in lines if not ln.startswith(" ")] == files  # one block per article, in gold order
    assert any(ln.startswith("  ok   gold ") for ln in lines)


def test_eval_command_prints_every_metric_and_the_diff(runs, capsys):
    from pipeline import cli

    _, out = runs["dev"]
    assert cli.main(["eval", str(GOLD["dev"]), "--datasets", str(out / "datasets"), "--diff"]) == 0
    printed = capsys.readouterr().out
    for metric in FLOORS["dev"]:
        assert metric in printed
    assert all(g["file"] in printed for g in evaluate.load_gold(GOLD["dev"])) and "  ok   gold " in printed


def test_eval_needs_seeds_or_datasets(capsys, tmp_path):
    from pipeline import cli

    assert cli.main(["eval", str(GOLD["dev"])]) == 2
    assert "either --seeds" in capsys.readouterr().err
    assert cli.main(["eval", str(tmp_path / "none.json"), "--datasets", str(tmp_path)]) == 2


@pytest.mark.parametrize("gold_set", list(GOLD))
def test_calibration_is_printed_for_every_gold_set_as_typed(runs, gold_set):
    from .conftest import ROOT, run_python

    _, out = runs[gold_set]
    args = ["-m", "pipeline", "eval", str(GOLD[gold_set]), "--datasets", str(out / "datasets"), "--calibration"]
    done = run_python([*args, "--threshold", "0.8"], ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout
    for family in ("strike_figures:", "strike_places:", "talks:", "quotes:"):
        assert family in printed
    assert "evidence kind" in printed and "at confidence >= 0.8:" in printed
    scores = evaluate.metrics(evaluate.load_scorer(GOLD_DIR / "score.py"), out / "datasets", GOLD[gold_set])[0]
    # the calibration judges rows as the scorer does: its overall shares are the scorer's precision and recall
    figures = re.search(
        r"strike_figures: \d+ answers, \d+ right \(([\d.-]+)\); \d+ of \d+ gold answers found \(([\d.-]+)\)", printed
    )
    assert figures is not None
    for shown, metric in zip(figures.groups(), ("strike_facts_precision", "strike_facts_recall"), strict=True):
        if shown != "-":
            assert abs(float(shown) - scores[metric]) < 0.001, (metric, shown, scores[metric])
    speakers = re.search(r"quotes: \d+ answers, \d+ right \(([\d.-]+)\)", printed)
    assert speakers is not None
    if speakers.group(1) != "-":
        assert abs(float(speakers.group(1)) - scores["quotes_speaker"]) < 0.001
    bad = run_python([*args, "--threshold", "1.5"], ROOT)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --threshold must be between 0 and 1")


def test_calibrated_confidence_means_the_measured_share_of_its_kind():
    from pipeline.extract import load_rules

    cal = load_rules().calibration
    for family, kinds in cal.counts.items():
        right, total = sum(r for r, _ in kinds.values()), sum(n for _, n in kinds.values())
        for kind, (r, n) in kinds.items():
            p = cal.confidence(family, kind)
            assert 0 <= p <= 1
            if n < cal.min_measured:  # not known well enough: never confirmed
                assert p < cal.confirmed, (family, kind, p)
            if n >= cal.min_measured:  # between its own share and the family's
                low, high = sorted((r / n, right / total))
                assert low - 0.001 <= p <= high + 0.001, (family, kind, p)
    # a kind unseen among rows without figures borrows what rows with figures showed of it
    assert cal.confidence("strike_places", "place in neighbouring sentence") == cal.confidence(
        "strike_figures", "place in neighbouring sentence"
    )
