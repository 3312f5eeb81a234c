import os
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline import io
from pipeline.errors import PipelineError, RejectedInput

SCHEMA = pa.schema([pa.field("x", pa.int32(), nullable=False)])


def _table(*values):
    return pa.table({"x": pa.array(values, pa.int32())})


def test_discover_skips_hidden_and_recurses(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b.txt", "sub/a.md", ".DS_Store", ".git/config"):
        (tmp_path / name).write_text("x")
    assert io.discover_inputs(tmp_path) == ["b.txt", "sub/a.md"]


def test_missing_seeds_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PipelineError, match="seeds folder not found"):
        io.discover_inputs(tmp_path / "nope")


def test_oversized_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    with pytest.raises(RejectedInput, match=r"too large: 52\.4 MB"):
        io.read_input(tmp_path, "big.txt", max_bytes=5_000_000)


def test_read_input_hashes_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    before = path.stat()
    inp = io.read_input(tmp_path, "a.txt", max_bytes=100)
    assert inp.data == b"hello" and len(inp.sha256) == 64
    after = path.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_write_replaces_the_dataset(tmp_path):
    io.write_dataset(tmp_path, "t", _table(1, 2), SCHEMA)
    io.write_dataset(tmp_path, "t", _table(3), SCHEMA)
    assert io.read_dataset(tmp_path, "t", SCHEMA).column("x").to_pylist() == [3]
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["t"]


def test_a_failed_write_leaves_the_previous_dataset(tmp_path, monkeypatch):
    io.write_dataset(tmp_path, "t", _table(1, 2), SCHEMA)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(io.pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        io.write_dataset(tmp_path, "t", _table(9), SCHEMA)
    assert io.read_dataset(tmp_path, "t", SCHEMA).column("x").to_pylist() == [1, 2]
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["t"]


def test_a_swap_interrupted_between_renames_is_recovered(tmp_path, monkeypatch):
    io.write_dataset(tmp_path, "t", _table(1), SCHEMA)
    final = io.dataset_dir(tmp_path, "t")
    os.rename(final, final.parent / ".old-t-deadbeef")  # what a crash after the first rename leaves
    assert io.read_dataset(tmp_path, "t", SCHEMA).column("x").to_pylist() == [1]


def test_portable_swap_fallback_works(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "_renameat2", None)
    io.write_dataset(tmp_path, "t", _table(1), SCHEMA)
    io.write_dataset(tmp_path, "t", _table(2), SCHEMA)
    assert io.read_dataset(tmp_path, "t", SCHEMA).column("x").to_pylist() == [2]
    assert [p.name for p in Path(tmp_path / "datasets").iterdir()] == ["t"]


def test_writer_refuses_data_that_does_not_fit_the_schema(tmp_path):
    with pytest.raises((pa.ArrowInvalid, KeyError, ValueError)):
        io.write_dataset(tmp_path, "t", pa.table({"y": [1]}), SCHEMA)


def test_output_lock_makes_a_second_run_give_up_with_a_clear_message(tmp_path):
    import threading

    held, release = threading.Event(), threading.Event()

    def hold():
        with io.output_lock(tmp_path):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    try:
        with pytest.raises(io.LockTimeout, match="another run is writing to"), io.output_lock(tmp_path, timeout=0.3):
            pass
    finally:
        release.set()
        t.join()
    with io.output_lock(tmp_path, timeout=1):  # free again
        pass


def test_staging_spills_past_its_budget_and_reads_a_month_back(tmp_path):
    from pipeline import schemas

    schema = schemas.ARTICLES  # staged articles have no ingested_at yet, though the column is non-nullable
    rows = [
        {"article_id": f"a{i}", "source_file": f"f{i}", "source_format": "text", "body": "x", "content_hash": "h"}
        for i in range(6)
    ]
    months = ["2026-01", "2026-02", None, "2026-01", "2026-02", None]
    staging = io.Staging(tmp_path / "staging", budget_bytes=1)  # every add spills
    staging.add("articles", pa.Table.from_pylist(rows[:3], schema=schema), months[:3])
    staging.add("articles", pa.Table.from_pylist(rows[3:], schema=schema), months[3:])
    assert len(list((tmp_path / "staging" / "articles").rglob("*.parquet"))) == 6
    for month in ("2026-01", "2026-02", None):
        got = staging.read("articles", month, schema)
        assert sorted(got["article_id"].to_pylist()) == [
            r["article_id"] for r, m in zip(rows, months, strict=True) if m == month
        ]
        assert got["ingested_at"].null_count == got.num_rows
    staging.close()
    assert not (tmp_path / "staging").exists()
