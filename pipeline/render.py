"""Rendering: execute a report notebook with papermill, convert it to self-contained HTML, index it.

A report is written beside the old one and swapped in, so a notebook that fails
leaves the previous report in place; the error names the notebook and the cell.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import html
import json
import os
import re
import tempfile
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from pipeline import ids, io, report
from pipeline.errors import PipelineError, ReportError

REPORTS = ("talks", "strikes")
_EVENT_KIND = {"talks": "talks", "strikes": "strike"}
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)
_INDEX_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:960px} table{border-collapse:collapse}"
    " td,th{border:1px solid #ccc;padding:4px 8px;text-align:left} th{background:#f0f0f0}"
    " .nw{white-space:nowrap}"
)


@dataclass
class Rendered:
    name: str
    report: str
    parameters: dict[str, Any]
    data_range: str
    rendered_at: str
    html: str
    notebook: str
    key: str = ""  # what the report was made from: see render_key
    reused: bool = False  # this call found the report up to date and did not render it again


def notebooks_dir() -> Path:
    """The report notebooks: ``PIPELINE_NOTEBOOKS`` if set, else the copy a wheel ships inside the package
    (``pipeline/notebooks/``), else the repository's ``notebooks/`` folder (a checkout, an editable install)."""
    override = os.environ.get("PIPELINE_NOTEBOOKS")
    here = Path(__file__).resolve().parent
    candidates = [Path(override)] if override else [here / "notebooks", here.parent / "notebooks"]
    for path in candidates:
        if (path / "strikes.ipynb").is_file():
            return path
    raise PipelineError(f"report notebooks not found in {candidates[0]} (set PIPELINE_NOTEBOOKS to their folder)")


def _local_kernel_manager(folder: str, cwd: str) -> type:
    """A kernel manager whose kernel is reached over Unix sockets in ``folder`` rather than TCP ports
    (nothing listens on the network, and the kernel has no unencrypted TCP to warn about), and starts in
    ``cwd``. The kernel process is given its folder here, not through papermill's ``cwd``, which changes
    the folder of this whole process while the notebook runs: a report rendered beside another, or any
    relative path in another thread, would then resolve against the wrong folder."""
    from jupyter_client.manager import KernelManager

    class LocalKernelManager(KernelManager):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(folder, "kernel"))
            kwargs.setdefault("connection_file", os.path.join(folder, "kernel.json"))  # not loose in /tmp
            super().__init__(*args, **kwargs)

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw.setdefault("cwd", cwd)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_interrupt_kernel(self) -> None:
            # The notebook has run when the kernel is shut down: it is idle, and is asked to stop. An
            # interrupt first (the manager's default) makes it print "KeyboardInterrupt caught in kernel"
            # onto the run's console whenever the signal lands before the request.
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    return LocalKernelManager


def report_name(
    kind: str, start: str | None, end: str | None, places: list[str] | None, title: str | None = None
) -> str:
    """File name of a report: the kind, then its parameters (``strikes_2026-01-20_2026-01-31_Kyiv-Kharkiv``),
    then a slug of its title, if any (``strikes_week-four``): two reports differing only in title do not
    overwrite each other."""
    parts = [kind]
    if start or end or places:
        parts += [start or "start", end or "latest"]
    if places:
        parts.append("-".join(re.sub(r"[^A-Za-z0-9]+", "", p) for p in places))
    if title:
        full = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")
        slug = full[:40].strip("-")
        lossy = len(full) > 40 or any(ch.isalnum() and not ch.isascii() for ch in title)
        # letters the slug cannot keep ("Тиждень 1"), or a long title cut short: its digest keeps it apart
        parts.append(f"{slug}-{ids.stable_id(title)[:8]}" if lossy and slug else slug or ids.stable_id(title)[:8])
    return "_".join(parts)


def render_report(
    kind: str,
    datasets: Path,
    out_dir: Path,
    start: str | None = None,
    end: str | None = None,
    places: list[str] | None = None,
    title: str | None = None,
    as_of: str | None = None,
) -> Rendered:
    """Execute ``notebooks/<kind>.ipynb`` on ``datasets`` and write ``<out_dir>/reports/<name>.html``
    (``<name>_as-of-<run>.html`` for the datasets of an earlier run, ``as_of``)."""
    if kind not in REPORTS:
        raise PipelineError(f"unknown report {kind!r}: choose from {', '.join(REPORTS)}")
    datasets = datasets.resolve()  # one version of the datasets for the key and the notebook alike
    out_dir = out_dir.resolve()  # every path absolute before a kernel starts
    params: dict[str, Any] = {"datasets": str(datasets), "start": start, "end": end, "places": places}
    if title:
        params["title"] = title
    report.selection(start, end, places)  # bad dates fail here, before a kernel starts
    reports_dir = out_dir / "reports"
    reports_dir.mkdir(parents=True, exist_ok=True)
    name = report_name(kind, start, end, places, title) + (f"_as-of-{as_of}" if as_of else "")
    source = notebooks_dir() / f"{kind}.ipynb"
    key = render_key(source, datasets, {k: v for k, v in params.items() if k != "datasets"})
    previous = _read_manifest(reports_dir).get(name)
    if (
        previous is not None
        and previous.get("key") == key
        and (reports_dir / previous["html"]).is_file()
        and (reports_dir / previous["notebook"]).is_file()
    ):
        known = {f.name for f in fields(Rendered)}
        return Rendered(**{k: v for k, v in previous.items() if k in known and k != "reused"}, reused=True)
    with tempfile.TemporaryDirectory(dir=reports_dir, prefix=".tmp-") as tmp:
        executed = Path(tmp) / f"{name}.ipynb"
        _execute(source, executed, params)
        page = Path(tmp) / f"{name}.html"
        page.write_text(_to_html(executed), encoding="utf-8")
        os.replace(executed, reports_dir / executed.name)
        os.replace(page, reports_dir / page.name)
    events = report.load_tables(datasets, ["events"])["events"]
    selected = report.select_events(events, _EVENT_KIND[kind], report.selection(start, end, places))
    rendered = Rendered(
        name=name,
        report=kind,
        parameters={**{k: v for k, v in params.items() if k != "datasets"}, **({"as_of": as_of} if as_of else {})},
        data_range=report.data_range(selected),
        rendered_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        html=f"{name}.html",
        notebook=f"{name}.ipynb",
        key=key,
    )
    _update_index(reports_dir, rendered)
    return rendered


def render_key(notebook: Path, datasets: Path, parameters: dict[str, Any]) -> str:
    """What a report is made from, as one digest: the pipeline's version and parameters, the notebook,
    every module and data file of the package (the helpers, the gazetteer, the map outline ...), and every
    byte of the datasets (each file with its path in the version). A report whose key has not changed
    would come out the same, so it is reused rather than rendered again."""
    import hashlib

    from pipeline import __version__

    digest = hashlib.sha256()
    digest.update(json.dumps([__version__, parameters], sort_keys=True, default=str).encode())
    ids.add_files(digest, notebook.parent, [notebook])
    ids.add_files(digest, ids.PACKAGE, ids.package_files())
    root = datasets.resolve()
    # the run log gains a row every run: it is not what a report shows
    data = [p for p in root.rglob("*") if p.name != io.MANIFEST and p.relative_to(root).parts[0] != "runs"]
    ids.add_files(digest, root, data)
    return digest.hexdigest()


def _read_manifest(reports_dir: Path) -> dict[str, dict[str, Any]]:
    """The reports listed in ``reports/manifest.json`` by name (none when it is missing or unreadable)."""
    try:
        entries = json.loads((reports_dir / "manifest.json").read_text(encoding="utf-8"))
        return {e["name"]: e for e in entries if isinstance(e, dict) and {"name", "html", "notebook"} <= e.keys()}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def _execute(source: Path, target: Path, params: dict[str, Any]) -> None:
    import papermill

    def run() -> None:
        # a Unix socket path may hold 107 bytes: a long TMPDIR gives way to /tmp
        short = "/tmp" if len(tempfile.gettempdir()) > 60 and os.path.isdir("/tmp") else tempfile.gettempdir()
        sweep_kernel_folders(Path(short))
        with tempfile.TemporaryDirectory(prefix=f"{_KERNEL_PREFIX}{os.getpid()}-", dir=short) as sockets:
            papermill.execute_notebook(
                str(source),
                str(target),
                parameters=params,
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                kernel_manager_class=_local_kernel_manager(sockets, str(source.parent)),
            )

    # papermill runs its own event loop: give it a fresh thread (a Prefect task thread already has one)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            pool.submit(run).result()
        except Exception as exc:
            cell = getattr(exc, "exec_count", None) or getattr(exc, "cell_index", None)
            ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
            where = f"cell {cell}" if cell is not None else "a cell"
            raise ReportError(f"notebook {source.name} failed in {where}: {ename}: {evalue}") from exc


#: A kernel's folder (its sockets and connection file) is named after the process that renders.
_KERNEL_PREFIX = "pipeline-kernel-"
_KERNEL_FOLDER = re.compile(re.escape(_KERNEL_PREFIX) + r"(\d+)-")


def sweep_kernel_folders(folder: Path) -> list[Path]:
    """Remove the kernel folders in ``folder`` left by rendering processes that are gone (a run killed while
    it rendered cannot remove its own); gives those removed. Folders of a live process are left alone."""
    import shutil

    import psutil

    removed = []
    for path in folder.glob(f"{_KERNEL_PREFIX}*"):
        found = _KERNEL_FOLDER.match(path.name)
        if found is None or psutil.pid_exists(int(found.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _to_html(executed: Path) -> str:
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.require_js_url = ""  # nothing is loaded from a CDN: the page opens offline
    exporter.mathjax_url = ""
    notebook = nbformat.read(str(executed), as_version=4)
    for cell in notebook.cells:  # papermill gives the cell it adds a random id: the same data, the same page
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    body, _ = exporter.from_notebook_node(notebook)
    # The reports are HTML and images only: drop the template's scripts (MathJax, mermaid loaders from a CDN).
    return _SCRIPT.sub("", body)


def render_reports(kinds: list[str], datasets: Path, out_dir: Path) -> list[Rendered]:
    """:func:`render_report` of each of ``kinds`` with the default parameters, side by side (each notebook
    has its own kernel; on two cores the two reports take little more than the longer one). When one fails,
    the others still finish, then its error is raised."""
    with concurrent.futures.ThreadPoolExecutor(len(kinds)) as pool:
        futures = [pool.submit(render_report, kind, datasets, out_dir) for kind in kinds]
        concurrent.futures.wait(futures)
    return [f.result() for f in futures]


_INDEX_LOCK = threading.Lock()  # reports rendered side by side list themselves one at a time


def _update_index(reports_dir: Path, rendered: Rendered) -> None:
    with _INDEX_LOCK:
        _write_index(reports_dir, rendered)


def _write_index(reports_dir: Path, rendered: Rendered) -> None:
    manifest_path = reports_dir / "manifest.json"
    entries: dict[str, Any] = _read_manifest(reports_dir)
    entries[rendered.name] = {k: v for k, v in asdict(rendered).items() if k != "reused"}
    entries = {k: v for k, v in entries.items() if (reports_dir / v["html"]).is_file()}
    atomic_write(manifest_path, json.dumps(sorted(entries.values(), key=lambda e: e["name"]), indent=1))
    atomic_write(reports_dir / "index.html", index_html(list(entries.values())))


_PARAMETER_NAMES = {"start": "from", "end": "to", "places": "places", "title": "title", "as_of": "as of run"}


def describe_parameters(parameters: dict[str, Any]) -> list[str]:
    """A report's parameters as a reader says them, one part each: "from 2026-01-20", "places Kyiv, Kharkiv"."""
    parts = []
    for key, value in parameters.items():
        if value in (None, [], ""):
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{_PARAMETER_NAMES.get(key, key)} {shown}")
    return parts


def index_html(entries: list[dict[str, Any]]) -> str:
    """The reports index: every report with its parameters, data range and render time (all escaped)."""
    rows = []
    for e in sorted(entries, key=lambda e: (e["report"], e["name"])):
        parts = describe_parameters(e["parameters"]) or ["everything"]
        shown = " · ".join(f'<span class="nw">{html.escape(part)}</span>' for part in parts)
        rows.append(
            "<tr>"
            f'<td><a href="{html.escape(e["html"])}">{html.escape(e["name"])}</a></td>'
            f"<td>{html.escape(e['report'])}</td><td>{shown}</td>"
            f'<td class="nw">{html.escape(e["data_range"])}</td><td class="nw">{html.escape(e["rendered_at"])}</td>'
            f'<td><a href="{html.escape(e["notebook"])}">notebook</a></td>'
            "</tr>"
        )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Reports</title>'
        f"<style>{_INDEX_STYLE}</style></head><body><h1>Reports</h1>"
        "<table><thead><tr><th>report</th><th>kind</th><th>parameters</th><th>data range</th>"
        f"<th>rendered</th><th>executed notebook</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</body></html>\n"
    )


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
