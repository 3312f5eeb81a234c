"""A run's arguments, checked before anything starts; nothing here imports Prefect, so the command line
checks them before it decides whether a run is needed (:mod:`pipeline.unchanged`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import budget
from pipeline.errors import PipelineError
from pipeline.read import DEFAULT_MAX_BYTES

DEFAULT_BATCH_SIZE = 250
DEFAULT_SNAPSHOTS = 5  # the runs whose datasets are kept (OUT/.versions), for reports as of an earlier run


def check_arguments(
    seeds_dir: Path,
    out_dir: Path,
    batch_size: int,
    max_bytes: int,
    processes: int | None,
    seconds: float | None,
    keep_snapshots: int = DEFAULT_SNAPSHOTS,
    corrections_file: Path | None = None,
) -> None:
    """Refuse arguments a run cannot go on with, before anything starts (one clear PipelineError)."""
    if not seeds_dir.is_dir():
        raise PipelineError(f"seeds folder not found: {seeds_dir}")
    seeds, out = seeds_dir.resolve(), out_dir.resolve()
    if seeds == out or out.is_relative_to(seeds) or seeds.is_relative_to(out):
        raise PipelineError(
            f"the output folder {out_dir} and the seeds folder {seeds_dir} overlap: the run would read its own "
            "outputs or write over its inputs; choose an output folder outside the seeds folder"
        )
    for what, value, shown in (
        ("--batch-size", batch_size, batch_size),
        ("--max-mib", max_bytes, f"{max_bytes / 2**20:g}"),
        ("--processes", processes, processes),
    ):
        if value is not None and value < 1:
            raise PipelineError(f"{what} must be positive, not {shown}")
    if seconds is not None and seconds <= 0:
        raise PipelineError(f"the time budget per article must be positive, not {seconds}")
    if keep_snapshots < 2:
        raise PipelineError(
            f"--keep-snapshots must be at least 2 (this run and the one before, which a reader may still have "
            f"open), not {keep_snapshots}"
        )
    if corrections_file is not None and not Path(corrections_file).is_file():
        raise PipelineError(f"corrections file not found: {corrections_file}")


def with_defaults(params: dict[str, Any]) -> dict[str, Any]:
    """The flow's parameters ``params`` with the defaults of those that decide the checks filled in."""
    defaults = {"seeds_dir": Path("seeds"), "out_dir": Path("outputs"), "batch_size": DEFAULT_BATCH_SIZE}
    return {**defaults, "max_bytes": DEFAULT_MAX_BYTES, "seconds_per_article": budget.DEFAULT_SECONDS, **params}


def check_parameters(params: dict[str, Any]) -> None:
    """:func:`check_arguments` on the flow's parameters, as given to ``run_flow`` or the flow."""
    args = with_defaults(params)
    check_arguments(
        Path(args["seeds_dir"]),
        Path(args["out_dir"]),
        int(args["batch_size"]),
        int(args["max_bytes"]),
        args.get("processes"),
        args["seconds_per_article"],
        int(args.get("keep_snapshots", DEFAULT_SNAPSHOTS)),
        args.get("corrections_file"),
    )
