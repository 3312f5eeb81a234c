"""Benchmark: a deterministic synthetic corpus in the seed formats, and the flow timed on it.

The corpus recombines paragraphs of the articles in a seeds folder with names,
places, numbers and dates drawn from the gazetteers, so every article is
different but reads like the real ones. Same N and seed, same corpus.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import random
import re
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clean import split_paragraphs
from pipeline.errors import PipelineError
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


def _paragraphs(seeds: Path) -> list[str]:
    """The paragraphs of eight words or more of every readable article in ``seeds``."""
    paragraphs = []
    for name in discover_inputs(seeds).files:
        try:
            art = read_article(name, (seeds / name).read_bytes())
        except Exception:  # a bad seed file is simply not used
            continue
        paragraphs += [p for p in split_paragraphs(art.text) if len(p.split()) >= 8]
    return paragraphs


def _names() -> tuple[list[str], list[str], list[str]]:
    """Ukrainian cities, people and Ukrainian regions of the gazetteer, to draw a corpus's names from."""
    gaz = load_gazetteer()
    cities = sorted(
        e.name for e in gaz.entities.values() if e.label == "PLACE" and e.kind == "city" and e.country == "UA"
    )
    people = sorted(e.name for e in gaz.entities.values() if e.label == "PERSON")
    regions = sorted(
        e.name for e in gaz.entities.values() if e.label == "PLACE" and e.kind == "region" and e.country == "UA"
    )
    return cities, people, regions


def _write_articles(out: Path, n: int, rng: random.Random, article: Callable[[int], tuple[str, str]]) -> Corpus:
    """Write ``n`` articles under ``out``: ``article(i)`` gives the suffix and text of the i-th, except for
    about 2% that republish the article before them word for word."""
    out.mkdir(parents=True, exist_ok=True)
    words = size = 0
    previous: tuple[str, str] | None = None
    for i in range(n):
        suffix, text = previous if previous and rng.random() < 0.02 else article(i)
        path = out / f"{i // 1000:03d}" / f"article_{i:06d}{suffix}"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        words += len(text.split())
        size += len(text.encode())
        previous = (suffix, text)
    return Corpus(out, n, words, size)


def make_corpus(seeds: Path, out: Path, n: int, seed: int = 7) -> Corpus:
    """Write ``n`` synthetic articles under ``out`` (dated text, Markdown and HTML, about 2% exact copies)."""
    paragraphs, (cities, people, regions) = _paragraphs(seeds), _names()
    if not paragraphs:
        raise ValueError(f"no usable paragraphs in {seeds}")
    swap_places = ["Kyiv", "Kharkiv", "Odesa", "Sumy", "Chernihiv", "Dnipro", "Zaporizhzhia", "Kherson"]
    swap_people = ["Vitali Klitschko", "Ihor Terekhov", "Volodymyr Zelensky", "Rustem Umerov"]
    rng = random.Random(seed)

    def article(i: int) -> tuple[str, str]:
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
            return ".txt", f" date {day.isoformat()} " + "\n\n".join(body) + "\n"
        if kind == 1:
            front = f'---\ntitle: "Report {i}"\ndate: {day.isoformat()}T08:00:00\nauthor: "Desk"\n---\n\n'
            return ".md", front + "\n\n".join(body) + "\n"
        paras = "".join(f"<p>{_escape(p)}</p>" for p in body)
        return ".html", (
            f'<html><head><title>Report {i}</title><meta property="article:published_time" '
            f'content="{day.isoformat()}T08:00:00+00:00"></head><body><nav>Home | World</nav>'
            f"<article><h1>Report {i}</h1>{paras}</article><footer>Contact us</footer></body></html>"
        )

    return _write_articles(out, n, rng, article)


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TAG = re.compile(r"(<[^>]*>)")
#: A count in prose: one to three digits, not part of a date, a time or a decimal.
_COUNT = re.compile(r"(?<![\d\-:./])\b\d{1,3}\b(?![\d\-:/]|\.\d)")
_PLACES = ["Kyiv", "Kharkiv", "Odesa", "Sumy", "Chernihiv", "Dnipro", "Zaporizhzhia", "Kherson", "Lviv", "Poltava"]
_PEOPLE = ["Vitali Klitschko", "Ihor Terekhov", "Volodymyr Zelensky", "Rustem Umerov", "Oleh Syniehubov"]
_NAMED = re.compile(r"\b(?:" + "|".join(map(re.escape, [*_PLACES, *_PEOPLE])) + r")\b")  # whole words only


def make_real_corpus(templates: list[Path], out: Path, n: int, seed: int = 7) -> Corpus:
    """Write ``n`` articles under ``out`` made from real article files (``templates``: folders such as the
    seeds and the development set), each in its own format with its page furniture, layout and front
    matter kept. Every copy shifts the file's dates by the same random number of days and draws its
    places, people and counts afresh from the gazetteer; about 2% are exact republished copies."""
    files = [(folder, name) for folder in templates for name in discover_inputs(folder).files]
    sources = []
    for folder, name in files:
        try:
            sources.append((Path(name).suffix or ".txt", (folder / name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):  # a template that is not UTF-8 text is not used
            continue
    if not sources:
        raise ValueError(f"no usable article files in {', '.join(map(str, templates))}")
    cities, people, _ = _names()
    rng = random.Random(seed)
    pool = [
        html.unescape(piece.strip()) if "<" in template else piece.strip()
        for _, template in sources
        for piece in _pieces(template)
        if _is_prose(piece)
    ]

    def article(i: int) -> tuple[str, str]:
        suffix, template = sources[rng.randrange(len(sources))]
        return suffix, _vary(template, rng, cities, people, pool)

    return _write_articles(out, n, rng, article)


#: A piece of a template's text with at least this many words is a paragraph of prose (shorter ones are
#: datelines, headings, menus, front matter), and is swapped for another template's paragraph.
_PROSE_WORDS = 12
#: The share of a template's paragraphs swapped in each copy: copies of one template then share few word
#: shingles, as different articles do (with no swap, 88% of a 1,000-article corpus were near-duplicates).
_SWAPPED = 0.85
_PARAGRAPH = re.compile(r"(\n\s*\n)")


def _pieces(text: str) -> list[str]:
    """The text between HTML tags, split at blank lines: the template's paragraphs and the rest."""
    return [piece for part in _TAG.split(text) if not part.startswith("<") for piece in _PARAGRAPH.split(part)]


def _is_prose(piece: str) -> bool:
    return len(piece.split()) >= _PROSE_WORDS and not piece.lstrip().startswith(("---", "#"))


def _vary(template: str, rng: random.Random, cities: list[str], people: list[str], pool: list[str]) -> str:
    """One article from a template: most of its paragraphs swapped for paragraphs of other templates,
    dates shifted together, places, people and counts drawn afresh in the text (never inside HTML tags,
    whose attributes keep only their shifted dates)."""
    shift = dt.timedelta(days=rng.randrange(-400, 300))

    def moved(m: re.Match[str]) -> str:
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3])) + shift
        except ValueError:
            return m[0]
        return day.isoformat()

    drawn = {p: rng.choice(cities) for p in _PLACES} | {p: rng.choice(people) for p in _PEOPLE}

    def prose(text: str) -> str:
        text = _NAMED.sub(lambda m: drawn[m[0]], text)
        return _COUNT.sub(lambda m: str(rng.randint(1, 400)), text)

    markup = "<" in template
    head = _PARAGRAPH.split(template.lstrip(), 1)[0] if not markup else None  # a date line, front matter

    def swapped(piece: str) -> str:
        if not _is_prose(piece) or piece.strip() == (head or "").strip() or rng.random() >= _SWAPPED:
            return piece
        other = rng.choice(pool)
        lead, trail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()) :]
        return lead + (_escape(other) if markup else other) + trail

    parts = [
        part if part.startswith("<") else "".join(swapped(p) for p in _PARAGRAPH.split(part))
        for part in _TAG.split(template)
    ]
    text = _ISO_DATE.sub(moved, "".join(parts))
    return "".join(part if part.startswith("<") else prose(part) for part in _TAG.split(text))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory, in MB, of this process and of its largest finished child (a worker process)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own / 1024, children / 1024


class AllProcesses:
    """While open, samples the resident memory of this process and all its descendants (worker processes,
    the API server), summed, every ``every`` seconds; ``peak_mb`` is the highest sum (None where ``/proc``
    cannot be read, as off Linux)."""

    def __init__(self, every: float = 1.0) -> None:
        self.every, self.peak_mb = every, tree_rss_mb(os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-memory", daemon=True)

    def _sample(self) -> None:
        while True:
            try:
                now = tree_rss_mb(os.getpid())
            except Exception:  # a process's files read oddly while it ended: skip this sample, keep sampling
                now = None
            if now is not None and (self.peak_mb is None or now > self.peak_mb):
                self.peak_mb = now
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> AllProcesses:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # the thread takes one last sample first if it is between two
        self._thread.join()


def tree_rss_mb(root: int) -> float | None:
    """Resident memory of process ``root`` and all its descendants, in MB, from ``/proc`` (None without it)."""
    proc = Path("/proc")
    children: dict[int, list[int]] = {}
    try:
        entries = [e for e in proc.iterdir() if e.name.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
        children.setdefault(parent, []).append(int(entry.name))
    total_kb, todo, seen = 0, [root], 0
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            status = (proc / str(pid) / "status").read_bytes()
        except OSError:
            continue
        seen += 1
        total_kb += sum(int(line.split()[1]) for line in status.splitlines() if line.startswith(b"VmRSS:"))
    return total_kb / 1024 if seen else None


def run_bench(
    seeds: Path,
    work: Path,
    n: int,
    runner: str,
    dask_address: str | None,
    rerun: bool,
    templates: list[Path] | None = None,
) -> dict[str, Any]:
    """Time the flow on a corpus of ``n`` articles: made from the real files of ``templates`` when given
    (:func:`make_real_corpus`), else recombined from the seed paragraphs (:func:`make_corpus`)."""
    from pipeline.flows import run_flow

    t0 = time.perf_counter()
    folder = work / "corpus"
    corpus = make_real_corpus(templates, folder, n) if templates else make_corpus(seeds, folder, n)
    made = time.perf_counter() - t0
    out = work / "out"
    results: dict[str, Any] = {
        "articles": n,
        "corpus": "from " + ", ".join(map(str, templates)) if templates else f"recombined from {seeds}",
        "words": corpus.words,
        "megabytes": corpus.bytes / 1e6,
        "generate_s": made,
    }
    for label in ["full", "rerun"] if rerun else ["full"]:
        t = time.perf_counter()
        with AllProcesses() as memory:
            summary = run_flow(runner, dask_address, seeds_dir=corpus.folder, out_dir=out, reports=False)
        wall = time.perf_counter() - t
        results[label] = {
            "wall_s": wall,
            "stages": dict(summary.stage_seconds),
            "peaks": dict(summary.stage_peak_mb),
            "all_peak_mb": memory.peak_mb,
            "summary": summary,
        }
    results["peak_rss_mb"] = peak_rss_mb()
    results["cores"] = _cores_used(runner, n)
    results["tokenizer_s"] = tokenizer_seconds(corpus.folder)
    results["steps"] = step_breakdown(corpus.folder)
    return results


def _cores_used(runner: str, n: int) -> int:
    """Cores the transform ran on: one worker per core, or one process when the corpus is a single batch."""
    from pipeline.flows import DEFAULT_BATCH_SIZE, default_processes

    if runner == "dask":
        return 2  # the local cluster's two workers
    batches = -(-n // DEFAULT_BATCH_SIZE)
    return max(1, min(default_processes(), batches))


def tokenizer_seconds(folder: Path, names: list[str] | None = None) -> float:
    """Seconds a blank spaCy English tokenizer alone takes, on one core, over the text of every file of
    the corpus, or of ``names`` (the anchor the transform's rate is compared with: the same files, the same
    run)."""
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    texts = []
    for name in discover_inputs(folder).files if names is None else names:
        try:
            texts.append(read_article(name, (folder / name).read_bytes()).text)
        except Exception:  # a file the pipeline would reject is not tokenised either
            continue
    start = time.perf_counter()
    for text in texts:
        tokenizer(text)
    return time.perf_counter() - start


#: Files of the corpus the step breakdown times, in batches of ``_STEP_BATCH``, after a batch of other files
#: of the corpus (where it has more) that warms the caches as a long run has them warm.
BREAKDOWN_FILES = 1000
_STEP_BATCH = 250


def step_breakdown(folder: Path, files: int = BREAKDOWN_FILES) -> dict[str, Any]:
    """The transform's steps timed in this process, one core, over the first ``files`` files of the corpus
    (after a batch of the files after them, or of the same files in a smaller corpus, that fills the caches):
    milliseconds per article of each step, by source format and for all formats, the rows' conversion to
    Arrow per article, and a blank tokenizer's milliseconds per article over the same files."""
    from pipeline import batch
    from pipeline.read import DEFAULT_MAX_BYTES

    every = discover_inputs(folder).files
    names = every[:files]
    batch.warm_up()
    warm = every[files : files + _STEP_BATCH] or names[:_STEP_BATCH]
    batch.process_batch(folder, warm, DEFAULT_MAX_BYTES, seconds=None)
    steps = batch.StepTimes()
    for start in range(0, len(names), _STEP_BATCH):
        batch.process_batch(folder, names[start : start + _STEP_BATCH], DEFAULT_MAX_BYTES, seconds=None, steps=steps)
    per_format = {fmt: dict(sec) for fmt, sec in sorted(steps.seconds.items())}
    per_format["all"] = {step: sum(sec[step] for sec in steps.seconds.values()) for step in batch.STEPS}
    counts = {**dict(sorted(steps.files.items())), "all": sum(steps.files.values())}
    return {
        "files": counts,
        "ms": {
            fmt: {step: 1000 * sec / max(counts[fmt], 1) for step, sec in by_step.items()}
            for fmt, by_step in per_format.items()
        },
        "to_arrow_ms": 1000 * steps.to_arrow / max(counts["all"], 1),
        "tokenizer_ms": 1000 * tokenizer_seconds(folder, names) / max(len(names), 1),
    }


def print_steps(results: dict[str, Any], out: Any = sys.stdout) -> None:
    """The step breakdown as a table, with the tokenizer's own time per article beside it."""
    from pipeline.batch import STEPS

    steps = results["steps"]
    print(f"transform steps on one core, ms per article ({steps['files']['all']:,} files, this process):", file=out)
    print(f"  {'format':<10}{'files':>7}" + "".join(f"{s:>13}" for s in (*STEPS, "total")), file=out)
    for fmt, ms in steps["ms"].items():
        cells = [*(ms[s] for s in STEPS), sum(ms.values())]
        print(f"  {fmt:<10}{steps['files'][fmt]:>7,}" + "".join(f"{c:>13.2f}" for c in cells), file=out)
    print(
        f"  rows to Arrow {steps['to_arrow_ms']:.2f} ms per article; a blank spaCy tokenizer alone over the same "
        f"files {steps['tokenizer_ms']:.2f} ms per article (part of tag)",
        file=out,
    )


def print_results(results: dict[str, Any], out: Any = sys.stdout) -> None:
    n = results["articles"]
    print(
        f"corpus: {n} articles, {results['words']:,} words, {results['megabytes']:.1f} MB, "
        f"{results.get('corpus', '')} (generated in {results['generate_s']:.1f}s)",
        file=out,
    )
    for label in ("full", "rerun"):
        if label not in results:
            continue
        r = results[label]
        print(f"{label} run: {r['wall_s']:.1f}s wall, {n / r['wall_s']:.0f} articles/s end to end", file=out)
        for stage, sec in r["stages"].items():
            rate = f"{n / sec:,.0f} articles/s" if sec > 0 else "-"
            peak = f"(flow process peak {r['peaks'][stage]:,.0f} MB by its end)"  # each stage has its peak
            print(f"  {stage:<12} {sec:8.2f}s  {rate}  {peak}", file=out)
    if "tokenizer_s" in results and "full" in results:
        whole, per_core, anchor, ratio = transform_ratio(results)
        print(
            f"transform {whole:,.0f} articles/s on {results['cores']} cores ({per_core:,.0f}/s per core) against a "
            f"blank spaCy tokenizer's {anchor:,.0f}/s on one core over the same files: ratio {ratio:.2f} "
            "(target 1.4, a miss below 0.7)",
            file=out,
        )
    if "steps" in results:
        print_steps(results, out)
    own, worker = results["peak_rss_mb"]
    print(
        f"peak RSS: {own:.0f} MB in the flow process, {worker:.0f} MB in the largest worker process "
        "(at most that many workers at once: one per core)",
        file=out,
    )
    together = results["full"].get("all_peak_mb") if "full" in results else None
    if together is not None:
        print(
            f"peak of all processes together (the flow, its workers and the API server; resident memory summed, "
            "sampled every second): "
            f"{together:,.0f} MB",
            file=out,
        )


def transform_ratio(results: dict[str, Any]) -> tuple[float, float, float, float]:
    """The transform's rate (articles/s on every core it used), that rate per core, the blank tokenizer's rate
    on one core, and the ratio issue 13 sets its target on: the transform's whole rate over the tokenizer's
    rate on one core (0 where a time is missing)."""
    n = results["articles"]
    transform = results["full"]["stages"].get("read+clean+tag+extract", 0.0)
    rate = n / transform if transform else 0.0
    anchor = n / results["tokenizer_s"] if results["tokenizer_s"] else 0.0
    return rate, rate / results["cores"], anchor, rate / anchor if anchor else 0.0


def record_results(results: dict[str, Any], runner: str, path: Path) -> dict[str, Any]:
    """Append the figures of one :func:`run_bench` to ``path`` as a JSON line, with the commit and runner."""
    import json
    import subprocess

    from pipeline import __version__

    try:  # the checkout this package runs from, marked "-dirty" when it has changes not committed
        describe = ["git", "describe", "--always", "--dirty", "--abbrev=7"]
        here = Path(__file__).parent
        commit = subprocess.run(describe, capture_output=True, text=True, cwd=here).stdout.strip()
    except OSError:
        commit = ""
    full = results["full"]
    record = {
        "commit": commit or None,
        "version": __version__,
        "runner": runner,
        "articles": results["articles"],
        "corpus": results.get("corpus", ""),
        "wall_s": round(full["wall_s"], 2),
        "stages": {stage: round(sec, 2) for stage, sec in full["stages"].items()},
        "stage_peak_mb": {stage: round(mb) for stage, mb in full["peaks"].items()},
        "peak_rss_mb": [round(mb) for mb in results["peak_rss_mb"]],
        "all_processes_peak_mb": None if full.get("all_peak_mb") is None else round(full["all_peak_mb"]),
        "step_tokenizer_ms": round(results["steps"]["tokenizer_ms"], 3) if "steps" in results else None,
        "step_ms": {
            fmt: {step: round(ms, 3) for step, ms in by_step.items()} for fmt, by_step in results["steps"]["ms"].items()
        }
        if "steps" in results
        else None,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(record) + "\n")
    return record


def read_records(path: Path) -> list[dict[str, Any]]:
    """The runs :func:`record_results` appended to ``path``."""
    import json

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PipelineError(f"cannot read the bench records {path}: {exc.strerror or exc}") from None
    try:
        records = [json.loads(line) for line in lines if line.strip()]
    except ValueError as exc:
        raise PipelineError(f"{path} is not a file of bench records (one JSON object a line): {exc}") from None
    needed = {"runner", "articles", "wall_s", "stages"}
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict) or not needed <= set(record):
            raise PipelineError(f"{path}: record {number} is not a bench record (it needs {', '.join(sorted(needed))})")
    return records


def plot_records(records: list[dict[str, Any]], svg: Path) -> None:
    """Seconds against articles on log-log axes: the whole run of each runner and each stage of the threads
    runner's, the median of each size's runs, with a dotted line of slope one (cost linear in N) through
    the largest run: fixed costs show as the smaller runs lying above it."""
    import statistics
    from collections import defaultdict

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not records:
        raise PipelineError("no bench records to plot: record runs with `bench --articles N --record FILE`")
    series: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        series[f"{r['runner']}: whole run"][r["articles"]].append(r["wall_s"])
        if r["runner"] == "threads":
            for stage, sec in r["stages"].items():
                series[f"threads: {stage}"][r["articles"]].append(sec)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, by_n in series.items():
        ns = sorted(by_n)
        ax.plot(ns, [statistics.median(by_n[n]) for n in ns], marker="o", label=label)
    whole = series.get("threads: whole run") or next(iter(series.values()))
    n0 = max(whole)
    ns = sorted({n for by_n in series.values() for n in by_n})
    t0 = statistics.median(whole[n0])
    ax.plot(ns, [t0 * n / n0 for n in ns], linestyle=":", color="grey", label="linear in N (through the largest)")
    ax.set(xscale="log", yscale="log", xlabel="articles", ylabel="seconds (median of runs)")
    ax.set_title("pipeline run without reports, by corpus size", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    svg.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(fig)


def time_long_articles(
    seeds: Path, work: Path, sizes_kib: list[int], runs: int = 3
) -> list[tuple[str, int, list[float], int]]:
    """Seconds to read, clean, tag and extract one article of each size, ``runs`` times, in two shapes:
    ordinary prose (the seed paragraphs repeated) and the same text on one line. Returns
    (shape, size in KiB, seconds per run, strike rows found)."""
    from pipeline import batch

    paragraphs = _paragraphs(seeds)
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


def profile_batch(folder: Path, target: Path, size: int = 250, top: int = 30) -> str:
    """Profile reading, cleaning, tagging and extracting one batch of ``size`` corpus files in this
    process (cProfile): the raw profile goes to ``target`` (for snakeviz or ``pstats``), the ``top``
    functions by cumulative time to ``target`` with ``.txt``; returns that text."""
    import cProfile
    import io as textio
    import pstats

    from pipeline import batch
    from pipeline.read import DEFAULT_MAX_BYTES

    names = discover_inputs(folder).files[:size]
    batch.warm_up()  # the rules, gazetteer and tokenizer load outside the profile, as in a long run
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    batch.process_batch(folder, names, DEFAULT_MAX_BYTES, seconds=None)
    profiler.disable()
    seconds = time.perf_counter() - start
    target.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(target))
    text = textio.StringIO()
    each = 1000 * seconds / max(len(names), 1)
    text.write(f"one batch of {len(names)} files: {seconds:.2f}s under the profiler, {each:.1f} ms a file\n")
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
    target.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")
    return text.getvalue()
