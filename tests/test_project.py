"""The project's own promises: README in step with the code, lint, format and types clean."""

import re
import subprocess
import sys

import pytest

from pipeline import cli, schemas

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command_after(marker: str) -> str:
    m = re.search(re.escape(marker) + r"\s*```sh\n(.+?)\n```", README, re.DOTALL)
    assert m, f"README has no command block after {marker}"
    return m.group(1).strip()


def test_readme_data_dictionary_is_generated_from_the_schemas():
    assert cli.replace_dictionary(README, schemas.data_dictionary()) == README
    for name, schema in schemas.TABLES.items():
        assert f"### `{name}`" in README
        for column in schema.names:
            assert f"| `{column}` |" in README


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    run, test = _command_after("<!-- run-command -->"), _command_after("<!-- test-command -->")
    assert run.endswith(".venv/bin/pipeline run") and "pip install" in run  # nothing to activate first
    assert "pytest" in test and '".[test]"' in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in ci  # CI extracts and runs the README's command
    assert "apt-get install" in ci and "chromium" in ci  # ... with the browser the browser test needs


def test_every_schema_column_has_a_description():
    for schema in schemas.TABLES.values():
        for field in schema:
            assert (field.metadata or {}).get(b"description"), field.name


@pytest.mark.parametrize("command", ["run", "report", "review", "snapshots", "serve", "bench", "eval", "docs"])
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    assert "example: python -m pipeline " + command in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_static_checks(args):
    cmd = [sys.executable, "-m", *args]  # the tools installed beside this interpreter
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_corpus_made_from_real_articles_keeps_their_formats_and_furniture(tmp_path):
    import re

    from pipeline.bench import make_real_corpus
    from pipeline.io import discover_inputs
    from pipeline.read import read_article

    from .conftest import ROOT, SEEDS

    templates = [SEEDS, ROOT / "tests" / "gold" / "dev" / "articles"]
    a = make_real_corpus(templates, tmp_path / "a", 120)
    b = make_real_corpus(templates, tmp_path / "b", 120)
    names = discover_inputs(a.folder).files
    assert len(names) == 120 and all((a.folder / n).read_bytes() == (b.folder / n).read_bytes() for n in names)
    articles = [read_article(n, (a.folder / n).read_bytes()) for n in names]  # every one reads
    assert {x.source_format for x in articles} == {"dated_text", "markdown", "html"}
    pages = [(a.folder / n).read_text(encoding="utf-8") for n in names if n.endswith(".html")]
    assert any("<nav>" in page for page in pages)  # the page furniture is kept
    template_tags = {t for path in templates[1].glob("*.html") for t in re.findall(r"<[a-z][^>]*>", path.read_text())}
    undated = re.compile(r"\d{4}-\d{2}-\d{2}")
    for page in pages:  # tags come through as they were, but for their shifted dates
        for tag in re.findall(r"<[a-z][^>]*>", page):
            assert undated.sub("D", tag) in {undated.sub("D", t) for t in template_tags}, tag
    published = {x.published for x in articles if x.published}
    assert len(published) > 20  # dates are spread, not the templates' own few
    copies = len(articles) - len({(a.folder / n).read_bytes() for n in names})
    assert 0 < copies < 12  # about 2% republished copies
    from pipeline import dedup

    # ... and few near-duplicates besides: copies of one template share little text, as different articles do
    bodies = [x.text for x in articles]
    repeats = dedup.find_duplicates(
        names,
        [dedup.content_hash(b) for b in bodies],
        [dedup.minhash(b).tobytes() for b in bodies],
        [(n,) for n in names],
    )
    assert copies <= sum(r is not None for r in repeats) <= copies + 6


def test_bench_corpus_is_deterministic_and_readable(tmp_path):
    from pipeline.bench import make_corpus
    from pipeline.io import discover_inputs
    from pipeline.read import read_article

    from .conftest import SEEDS

    a = make_corpus(SEEDS, tmp_path / "a", 30)
    b = make_corpus(SEEDS, tmp_path / "b", 30)
    names = discover_inputs(a.folder).files
    assert len(names) == 30 and names == discover_inputs(b.folder).files
    for name in names:
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes()
    formats = {read_article(n, (a.folder / n).read_bytes()).source_format for n in names}
    assert formats == {"dated_text", "markdown", "html"}
