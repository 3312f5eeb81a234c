import os

import pyarrow as pa
import pyarrow.parquet
import pytest

from pipeline import io
from pipeline.errors import PipelineError, RejectedInput, TooLarge

SCHEMA = pa.schema([pa.field("x", pa.int32(), nullable=False)])


def _table(*values):
    return pa.table({"x": pa.array(values, pa.int32())})


def test_discover_skips_hidden_and_recurses(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b.txt", "sub/a.md", ".DS_Store", ".git/config"):
        (tmp_path / name).write_text("x")
    listing = io.discover_inputs(tmp_path)
    assert listing.files == ["b.txt", "sub/a.md"] and listing.rejects == [] and not listing.unreadable


def test_missing_seeds_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PipelineError, match="seeds folder not found"):
        io.discover_inputs(tmp_path / "nope")


def test_only_regular_files_inside_the_seeds_folder_are_inputs(tmp_path):
    seeds, outside = tmp_path / "seeds", tmp_path / "secret.txt"
    (seeds / "sub").mkdir(parents=True)
    outside.write_text("not yours")
    (seeds / "a.txt").write_text("x")
    (seeds / "inside-link.txt").symlink_to(seeds / "a.txt")
    (seeds / "out-link.txt").symlink_to(outside)
    (seeds / "dangling.txt").symlink_to(seeds / "gone.txt")
    (seeds / "loop.txt").symlink_to(seeds / "loop.txt")
    (seeds / "dir-link").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(seeds / "sub" / "pipe.txt")
    listing = io.discover_inputs(seeds)
    assert listing.files == ["a.txt", "inside-link.txt"]
    assert {name: reason.split(":")[0] for name, reason, _ in listing.rejects} == {
        "out-link.txt": "symbolic link to a file outside the seeds folder",
        "dangling.txt": "dangling symbolic link",
        "loop.txt": "symbolic link loop",
        "dir-link": "symbolic link to a folder",
        "sub/pipe.txt": "not a regular file (FIFO)",
    }
    with pytest.raises(RejectedInput, match="outside the seeds folder"):  # nor read if named directly
        io.read_input(seeds, "out-link.txt", 100)
    with pytest.raises(RejectedInput, match="not a regular file"):  # a FIFO does not hang the read
        io.read_input(seeds, "sub/pipe.txt", 100)


def test_an_unlistable_folder_is_named_as_unreadable(tmp_path, monkeypatch):
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "a.txt").write_text("x")
    (tmp_path / "b.txt").write_text("x")
    real_scandir = os.scandir

    def scandir(path="."):  # what a folder without read permission gives (the tests may run as root)
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    listing = io.discover_inputs(tmp_path)
    assert listing.files == ["b.txt"]
    assert listing.rejects == [("locked", "cannot read folder: Permission denied", "unreadable")]
    assert listing.holds("locked/a.txt") and not listing.holds("lockedother.txt") and not listing.holds("b.txt")


def test_file_names_that_are_not_utf8_or_hold_newlines_are_stored_escaped(tmp_path):
    raw = os.fsdecode(b"caf\xe9\nfake log line.txt")
    (tmp_path / raw).write_text("x")
    (name,) = io.discover_inputs(tmp_path).files
    assert name == raw  # as the file system spells it, to open it
    inp = io.read_input(tmp_path, name, 100)
    assert inp.name == "caf\\xe9\\x0afake log line.txt"
    assert inp.name.encode("utf-8") and "\n" not in inp.name


def test_oversized_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(50 * 2**20)  # sparse: 50 MiB on paper, nothing on disk
    with pytest.raises(TooLarge, match=r"too large: 50\.0 MiB, over the 2\.0 MiB limit"):
        io.read_input(tmp_path, "big.txt", max_bytes=2 * 2**20)


def test_read_input_hashes_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    before = path.stat()
    inp = io.read_input(tmp_path, "a.txt", max_bytes=100)
    assert inp.data == b"hello" and len(inp.sha256) == 64
    after = path.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


# --------------------------------------------------------------------------- committed versions


def _commit(out, values, fail_after=None, monkeypatch=None, keep=2):
    """One 'run' writing every table of the schema (t's rows = values), optionally failing after a table;
    the ``keep`` newest runs' versions stay."""
    from pipeline import schemas

    commit = io.Commit(out, io.new_run_id())
    try:
        for table in schemas.TABLES:
            data = _table(*values) if table == "articles" else schemas.TABLES[table].empty_table()
            commit.write(table, data, SCHEMA if table == "articles" else schemas.TABLES[table])
            if table == fail_after:
                raise OSError(28, "No space left on device")
        return commit.publish({}, keep)
    except BaseException:
        commit.discard()
        raise


def _articles(out):
    return io.read_dataset(out / "datasets", "articles", SCHEMA).column("x").to_pylist()


def test_a_run_is_published_as_one_version_behind_the_datasets_link(tmp_path):
    first = _commit(tmp_path, [1, 2])
    assert (tmp_path / "datasets").is_symlink() and io.committed(tmp_path) == first
    assert _articles(tmp_path) == [1, 2]
    second = _commit(tmp_path, [3])
    assert _articles(tmp_path) == [3] and io.committed(tmp_path) == second
    third = _commit(tmp_path, [4])
    # the current version and the one before stay (a reader may still be in it); older ones go
    assert sorted(p.name for p in (tmp_path / io.VERSIONS).iterdir()) == sorted([second.name, third.name])
    assert not first.exists()


def test_snapshots_rotate_at_the_number_kept(tmp_path):
    made = [_commit(tmp_path, [n], keep=3).name for n in range(5)]
    assert [v.name for v in io.snapshots(tmp_path)] == made[-3:]
    assert io.committed(tmp_path).name == made[-1]
    assert io.read_dataset(tmp_path / io.VERSIONS / made[-3], "articles", SCHEMA).column("x").to_pylist() == [2]
    _commit(tmp_path, [9], keep=5)  # keeping more keeps what is there
    assert [v.name for v in io.snapshots(tmp_path)] == [*made[-3:], io.committed(tmp_path).name]


def test_a_failed_run_leaves_the_last_commit_whole(tmp_path):
    _commit(tmp_path, [1, 2])
    with pytest.raises(OSError, match="No space left"):
        _commit(tmp_path, [9], fail_after="sentences")
    assert _articles(tmp_path) == [1, 2]
    assert [p.name for p in (tmp_path / io.VERSIONS).iterdir() if p.name.startswith(".tmp-")] == []


def test_recover_removes_unfinished_runs_and_repairs_a_broken_link(tmp_path):
    good = _commit(tmp_path, [1])
    unfinished = tmp_path / io.VERSIONS / ".tmp-20990101T000000Z-deadbeef"  # what kill -9 mid-run leaves
    (unfinished / "articles").mkdir(parents=True)
    link = tmp_path / "datasets"
    link.unlink()
    link.symlink_to(tmp_path / io.VERSIONS / "never-written")
    done = io.recover(tmp_path)
    assert not unfinished.exists() and io.committed(tmp_path) == good and _articles(tmp_path) == [1]
    assert any("did not finish" in line for line in done) and any("pointed back" in line for line in done)
    assert io.recover(tmp_path) == []  # nothing left to do


def test_a_folder_of_the_layout_before_versions_is_moved_aside_on_the_first_commit(tmp_path):
    legacy = tmp_path / "datasets" / "articles"
    legacy.mkdir(parents=True)
    pa.parquet.write_table(_table(7), legacy / "part-0.parquet")
    assert io.committed(tmp_path) is None and io.previous_datasets(tmp_path) == tmp_path / "datasets"
    _commit(tmp_path, [8])
    assert _articles(tmp_path) == [8] and (tmp_path / "datasets").is_symlink()


def test_unchanged_partitions_are_hard_links_into_the_previous_version(tmp_path):
    from pipeline import schemas

    def run(touched, rows):
        commit = io.Commit(tmp_path, io.new_run_id())
        for table in schemas.TABLES:
            if table == "articles":
                commit.write_partitioned(table, SCHEMA, touched, lambda m, _old: _table(*rows[m]))
            else:
                commit.write(table, schemas.TABLES[table].empty_table(), schemas.TABLES[table])
        return commit.publish({})

    first = run({"2026-01", "2026-02", None}, {"2026-01": [1], "2026-02": [2], None: [3]})
    second = run({"2026-02"}, {"2026-02": [5]})
    assert set(io.partitions(second / "articles")) == {"2026-01", "2026-02", None}
    old, new = first / "articles" / "month=2026-01" / "part-0.parquet", second / "articles" / "month=2026-01"
    assert os.path.samefile(old, new / "part-0.parquet")
    assert sorted(_articles(tmp_path)) == [1, 3, 5]
    assert (second / "articles" / "month=undated").is_dir()


def test_writer_refuses_data_that_does_not_fit_the_schema(tmp_path):
    commit = io.Commit(tmp_path, io.new_run_id())
    with pytest.raises((pa.ArrowInvalid, KeyError, ValueError)):
        commit.write("t", pa.table({"y": [1]}), SCHEMA)


def test_a_commit_missing_a_table_is_refused(tmp_path):
    commit = io.Commit(tmp_path, io.new_run_id())
    commit.write("articles", _table(1), SCHEMA)
    with pytest.raises(PipelineError, match="wrote no"):
        commit.publish({})
    assert io.committed(tmp_path) is None


def test_the_minhash_cache_is_replaced_whole(tmp_path, monkeypatch):
    io.write_signatures(tmp_path, {"h1": b"a"})

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io.pq, "write_table", crash)
    with pytest.raises(OSError):
        io.write_signatures(tmp_path, {"h2": b"b"})
    assert io.read_signatures(tmp_path) == {"h1": b"a"}
    assert [p.name for p in (tmp_path / "cache" / "minhash").iterdir()] == ["part-0.parquet"]


def test_output_lock_is_reentrant_in_its_thread(tmp_path):
    with io.output_lock(tmp_path, timeout=0.1), io.output_lock(tmp_path, timeout=0.1):
        pass


def test_output_lock_makes_a_second_run_give_up_with_a_clear_message(tmp_path):
    from .conftest import lock_held_elsewhere

    waited = pytest.raises(io.LockTimeout, match="another run is writing to")
    with lock_held_elsewhere(tmp_path), waited, io.output_lock(tmp_path, timeout=0.3):
        pass
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
    assert len(list((tmp_path / "staging" / "articles").rglob("*.arrow"))) == 6
    for month in ("2026-01", "2026-02", None):
        got = staging.read("articles", month, schema)
        assert got["article_id"].to_pylist() == [
            r["article_id"] for r, m in zip(rows, months, strict=True) if m == month
        ]  # a month's rows in the order they came
        assert got["ingested_at"].null_count == got.num_rows
    staging.close()
    assert not (tmp_path / "staging").exists()


def test_staging_reads_a_month_from_its_files_and_from_what_it_still_holds(tmp_path):
    from pipeline import schemas

    schema = schemas.ARTICLES
    rows = [
        {"article_id": f"a{i}", "source_file": f"f{i}", "source_format": "text", "body": "x", "content_hash": "h"}
        for i in range(9)
    ]
    months = ["2026-03", None, "2026-01", "2026-03", "2026-01", "2026-03", None, "2026-01", "2026-03"]
    first = pa.Table.from_pylist(rows[:6], schema=schema)
    staging = io.Staging(tmp_path / "staging", budget_bytes=first.nbytes)  # the second add spills both
    staging.add("articles", first.slice(0, 3), months[:3])
    staging.add("articles", first.slice(3, 3), months[3:6])
    staging.add("articles", pa.Table.from_pylist(rows[6:], schema=schema), months[6:])  # held
    assert {p.parent.name for p in (tmp_path / "staging" / "articles").rglob("*.arrow")} == {
        "month=2026-01",
        "month=2026-03",
        "month=undated",
    }
    for month in ("2026-01", "2026-03", None, "2026-02"):
        got = staging.read("articles", month, schema)
        assert got["article_id"].to_pylist() == [f"a{i}" for i, m in enumerate(months) if m == month]
    staging.close()
