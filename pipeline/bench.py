"""Benchmark: a deterministic synthetic corpus in the seed formats, and the flow timed on it.

The corpus recombines paragraphs of the articles in a seeds folder with names,
places, numbers and dates drawn from the gazetteers, so every article is
different but reads like the real ones. Same N and seed, same corpus.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clean import split_paragraphs
from pipeline.gazetteer import load_gazetteer
from pipeline.io import discover_inputs
from pipeline.read import read_article

_NUMBER = re.compile(r"\b\d{1,3}\b")


@dataclass(frozen=True)
class Corpus:
    folder: Path
    articles: int
    words: int
    bytes: int


def _pools(seeds: Path) -> tuple[list[str], list[str], list[str], list[str]]:
    paragraphs = []
    for name in discover_inputs(seeds).files:
        try:
            art = read_article(name, (seeds / name).read_bytes())
        except Exception:  # a bad seed file is simply not used
            continue
        paragraphs += [p for p in split_paragraphs(art.text) if len(p.split()) >= 8]
    gaz = load_gazetteer()
    cities = sorted(
        e.name for e in gaz.entities.values() if e.label == "PLACE" and e.kind == "city" and e.country == "UA"
    )
    people = sorted(e.name for e in gaz.entities.values() if e.label == "PERSON")
    regions = sorted(
        e.name for e in gaz.entities.values() if e.label == "PLACE" and e.kind == "region" and e.country == "UA"
    )
    return paragraphs, cities, people, regions


def make_corpus(seeds: Path, out: Path, n: int, seed: int = 7) -> Corpus:
    """Write ``n`` synthetic articles under ``out`` (dated text, Markdown and HTML, about 2% exact copies)."""
    paragraphs, cities, people, regions = _pools(seeds)
    if not paragraphs:
        raise ValueError(f"no usable paragraphs in {seeds}")
    swap_places = ["Kyiv", "Kharkiv", "Odesa", "Sumy", "Chernihiv", "Dnipro", "Zaporizhzhia", "Kherson"]
    swap_people = ["Vitali Klitschko", "Ihor Terekhov", "Volodymyr Zelensky", "Rustem Umerov"]
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    words = size = 0
    previous = ""
    for i in range(n):
        if previous and rng.random() < 0.02:
            text = previous  # a republished copy
        else:
            day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(0, 700))
            chosen = rng.sample(paragraphs, k=min(len(paragraphs), rng.randint(6, 14)))
            body = []
            for p in chosen:
                for old in swap_places:
                    p = p.replace(old, rng.choice(cities))
                for old in swap_people:
                    p = p.replace(old, rng.choice(people))
                p = _NUMBER.sub(lambda m: str(rng.randint(1, 400)), p)
                if rng.random() < 0.2:
                    p += f" Officials in the {rng.choice(regions)} region reported damage."
                body.append(p)
            kind = i % 3
            if kind == 0:
                text = f" date {day.isoformat()} " + "\n\n".join(body) + "\n"
            elif kind == 1:
                text = (
                    f'---\ntitle: "Report {i}"\ndate: {day.isoformat()}T08:00:00\nauthor: "Desk"\n---\n\n'
                    + "\n\n".join(body)
                    + "\n"
                )
            else:
                paras = "".join(f"<p>{_escape(p)}</p>" for p in body)
                text = (
                    f'<html><head><title>Report {i}</title><meta property="article:published_time" '
                    f'content="{day.isoformat()}T08:00:00+00:00"></head><body><nav>Home | World</nav>'
                    f"<article><h1>Report {i}</h1>{paras}</article><footer>Contact us</footer></body></html>"
                )
        suffix = ".html" if text.startswith("<html") else ".md" if text.startswith("---") else ".txt"
        path = out / f"{i // 1000:03d}" / f"article_{i:06d}{suffix}"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        words += len(text.split())
        size += len(text.encode())
        previous = text
    return Corpus(out, n, words, size)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory, in MB, of this process and of its largest finished child (a worker process)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own / 1024, children / 1024


def run_bench(seeds: Path, work: Path, n: int, runner: str, dask_address: str | None, rerun: bool) -> dict[str, Any]:
    from pipeline.flows import run_flow

    t0 = time.perf_counter()
    corpus = make_corpus(seeds, work / "corpus", n)
    made = time.perf_counter() - t0
    out = work / "out"
    results: dict[str, Any] = {
        "articles": n,
        "words": corpus.words,
        "megabytes": corpus.bytes / 1e6,
        "generate_s": made,
    }
    for label in ["full", "rerun"] if rerun else ["full"]:
        t = time.perf_counter()
        summary = run_flow(runner, dask_address, seeds_dir=corpus.folder, out_dir=out, reports=False)
        wall = time.perf_counter() - t
        results[label] = {"wall_s": wall, "stages": dict(summary.stage_seconds), "summary": summary}
    results["peak_rss_mb"] = peak_rss_mb()
    return results


def print_results(results: dict[str, Any], out: Any = sys.stdout) -> None:
    n = results["articles"]
    print(
        f"corpus: {n} articles, {results['words']:,} words, {results['megabytes']:.1f} MB "
        f"(generated in {results['generate_s']:.1f}s)",
        file=out,
    )
    for label in ("full", "rerun"):
        if label not in results:
            continue
        r = results[label]
        print(f"{label} run: {r['wall_s']:.1f}s wall, {n / r['wall_s']:.0f} articles/s end to end", file=out)
        for stage, sec in r["stages"].items():
            rate = f"{n / sec:,.0f} articles/s" if sec > 0 else "-"
            print(f"  {stage:<12} {sec:8.2f}s  {rate}", file=out)
    own, worker = results["peak_rss_mb"]
    print(
        f"peak RSS: {own:.0f} MB in the flow process, {worker:.0f} MB in the largest worker process "
        "(at most that many workers at once: one per core)",
        file=out,
    )


def time_long_articles(
    seeds: Path, work: Path, sizes_kib: list[int], runs: int = 3
) -> list[tuple[str, int, list[float], int]]:
    """Seconds to read, clean, tag and extract one article of each size, ``runs`` times, in two shapes:
    ordinary prose (the seed paragraphs repeated) and the same text on one line. Returns
    (shape, size in KiB, seconds per run, strike rows found)."""
    from pipeline import batch

    paragraphs = _pools(seeds)[0]
    if not paragraphs:
        raise ValueError(f"no usable paragraphs in {seeds}")
    prose = "\n\n".join(paragraphs)
    work.mkdir(parents=True, exist_ok=True)
    batch.warm_up()
    results = []
    for size in sizes_kib:
        text = (prose * (size * 1024 // len(prose) + 1))[: size * 1024]
        for shape, body in (("prose", text), ("one line", " ".join(text.split()))):
            name = f"{shape.replace(' ', '-')}-{size}k.txt"
            (work / name).write_text(" date 2026-01-05 " + body, encoding="utf-8")
            seconds, rows = [], 0
            for _ in range(runs):
                start = time.perf_counter()
                result = batch.process_batch(work, [name], 2 * size * 1024 + 4096, seconds=None)
                seconds.append(time.perf_counter() - start)
                rows = result.tables["strikes"].num_rows
            results.append((shape, size, seconds, rows))
    return results


def print_long_articles(results: list[tuple[str, int, list[float], int]], out: Any = sys.stdout) -> None:
    import statistics

    print("shape     size      min s  median s  s per MiB  strike rows", file=out)
    for shape, size, seconds, rows in results:
        best = min(seconds)
        print(
            f"{shape:<9} {size:>5} KiB {best:>7.2f} {statistics.median(seconds):>9.2f} "
            f"{best / (size / 1024):>10.2f} {rows:>12}",
            file=out,
        )


def time_commands(seeds: Path, work: Path, runs: int = 3) -> dict[str, list[float]]:
    """Wall seconds of ``pipeline run`` as a user types it, each in a fresh process, ``runs`` times: a first
    run into an empty output folder (reports rendered), then a re-run with nothing changed."""
    import shutil
    import subprocess

    out = work / "command-out"
    times: dict[str, list[float]] = {"first run": [], "re-run, nothing changed": []}
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        for label in times:
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "pipeline", "run", "--seeds", str(seeds), "--out", str(out)],
                capture_output=True,
                text=True,
            )
            times[label].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"pipeline run failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return times


def print_commands(times: dict[str, list[float]], out: Any = sys.stdout) -> None:
    import statistics

    print("command                     runs   min s  median s", file=out)
    for label, seconds in times.items():
        print(f"{label:<27} {len(seconds):>4} {min(seconds):>7.1f} {statistics.median(seconds):>9.1f}", file=out)
    first, again = (statistics.median(s) for s in times.values())
    print(f"re-run / first run (medians): {again / first:.0%}", file=out)
