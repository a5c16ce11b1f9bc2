"""`shuangta validate | diff | schema | levers`, in-process through the real entry point ``sim.cli.main``.

The malformed corpus is tests/data/scenarios/bad/: one problem per file (one
file with three), each file's expected key and message fragment in
bad/EXPECTED.toml. Every case runs in an empty temporary working folder that
must still be empty afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli, main
from sim.specs.scenario_text import json_schema_text, scenario_json_schema

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "scenarios" / "bad"
GOOD = DATA / "scenarios" / "good"
EXPECTED = tomllib.loads((BAD / "EXPECTED.toml").read_text(encoding="utf-8"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def problem_lines(self) -> list[str]:
        """The lines of the error report, without the leading ``error: ``."""
        lines = self.err.splitlines()
        if lines:
            assert lines[0].startswith("error: "), self.err
            lines[0] = lines[0][len("error: "):]
        return lines


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A copy of tests/data/scenario_toy.mdl outside the repository."""
    folder = tmp_path_factory.mktemp("model")
    shutil.copy2(DATA / "scenario_toy.mdl", folder / "scenario_toy.mdl")
    return folder / "scenario_toy.mdl"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def workdir(tmp_path, monkeypatch, cache_dir):
    """An empty current folder; translations go to a temporary cache."""
    monkeypatch.setenv("SHUANGTA_CACHE", str(cache_dir))
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def shuangta(*args: str) -> Result:
    """Run ``shuangta ARGS`` through ``sim.cli.main`` (the installed script's entry point)."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


# --- the malformed corpus ----------------------------------------------------


def test_corpus_and_expectations_agree():
    files = {p.name for p in BAD.glob("*.toml")} - {"EXPECTED.toml"}
    assert files == set(EXPECTED)
    assert len(files) >= 25
    single = [f for f, e in EXPECTED.items() if len(e["problems"]) == 1]
    assert len(single) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_reports_each_malformed_file(name, model_file, workdir):
    entry = EXPECTED[name]
    path = BAD / name
    reported = BAD / entry["file"] if "file" in entry else path
    r = shuangta("validate", "--model", str(model_file), str(path))

    assert r.code == 2
    assert r.out == ""  # no "ok" line
    lines = r.problem_lines
    assert len(lines) == len(entry["problems"]), r.err  # exactly the expected problems, nothing more
    for want in entry["problems"]:
        prefix = f"{reported}: {want['key']}: " if want["key"] else f"{reported}: "
        matching = [line for line in lines if line.startswith(prefix) and want["fragment"] in line[len(prefix):]]
        assert matching, f"no line starting {prefix!r} containing {want['fragment']!r} in:\n{r.err}"
    assert list(workdir.iterdir()) == []  # nothing written


def test_validate_several_files_reports_all_problems_and_the_good_ones(model_file, workdir):
    files = [GOOD / "leaf.toml", BAD / "out_of_range.toml", GOOD / "minimal.toml", BAD / "three_problems.toml"]
    r = shuangta("validate", "--model", str(model_file), *map(str, files))
    assert r.code == 2
    assert r.out.splitlines() == [f"ok  {GOOD / 'leaf.toml'}", f"ok  {GOOD / 'minimal.toml'}"]
    assert len(r.problem_lines) == 4
    assert list(workdir.iterdir()) == []


def test_validate_good_files(model_file, workdir):
    files = sorted(GOOD.glob("*.toml"))
    r = shuangta("validate", "--model", str(model_file), *map(str, files))
    assert (r.code, r.err) == (0, "")
    assert r.out.splitlines() == [f"ok  {f}" for f in files]


def test_validate_relative_paths_are_reported_as_given(model_file, workdir):
    (workdir / "s").mkdir()
    shutil.copy2(BAD / "misspelt_lever.toml", workdir / "s" / "m.toml")
    r = shuangta("validate", "--model", str(model_file), "s/m.toml")
    assert r.code == 2
    assert r.problem_lines == [
        "s/m.toml: levers.Investment Rte: unknown lever 'Investment Rte': not in the model scenario_toy.mdl; "
        "did you mean 'Investment Rate'?"
    ]


def test_validate_uses_the_project_model_by_default(model_file, workdir, monkeypatch):
    monkeypatch.setattr("sim.model.loader.DEFAULT_MODEL", model_file)
    r = shuangta("validate", str(GOOD / "leaf.toml"))
    assert (r.code, r.out) == (0, f"ok  {GOOD / 'leaf.toml'}\n")
    monkeypatch.setattr("sim.model.loader.DEFAULT_MODEL", workdir / "absent.mdl")
    r = shuangta("validate", str(GOOD / "leaf.toml"))
    assert r.code == 2 and "model file not found" in r.err  # bad input, not a fault


def test_validate_needs_a_file(workdir):
    r = shuangta("validate")
    assert r.code == 2 and "Missing argument" in r.err


# --- diff ----------------------------------------------------------------------


def test_diff_shows_only_differing_levers(model_file, workdir):
    r = shuangta("diff", "--model", str(model_file), str(GOOD / "root.toml"), str(GOOD / "leaf.toml"))
    assert (r.code, r.err) == (0, "")
    lines = r.out.splitlines()
    assert lines[0].split() == ["lever", "root", "leaf"]
    body = {line[:26].strip(): line[26:].split("  ") for line in lines[2:]}
    assert [name for name in body] == [
        "Investment Rate", "Key Project Investment", "Net Migration", "Project Realisation Rate"
    ]
    assert "0.35" in lines[2] and "0.4" in lines[2]
    assert "2021: 400, 2023: 800, 2026: 1200 (step)" in lines[3]
    assert "0.7 (default)" in lines[5] and "2021: 0.6, 2025: 0.8" in lines[5]
    assert list(workdir.iterdir()) == []


def test_diff_without_model_and_identical(workdir):
    r = shuangta("diff", "--no-model", str(GOOD / "root.toml"), str(GOOD / "middle.toml"))
    assert r.code == 0
    assert "Project Realisation Rate" in r.out and "unset" in r.out
    assert "Key Project Investment" not in r.out  # inherited unchanged
    r = shuangta("diff", "--no-model", str(GOOD / "root.toml"), str(GOOD / "root.toml"))
    assert r.out == "no differences between root and root\n"


def test_diff_of_a_bad_file_is_an_error(model_file, workdir):
    r = shuangta("diff", "--model", str(model_file), str(GOOD / "root.toml"), str(BAD / "out_of_range.toml"))
    assert r.code == 2 and "levers.Investment Rate: 1.5 is outside" in r.err


# --- schema ----------------------------------------------------------------------


def test_schema_to_stdout(workdir):
    r = shuangta("schema")
    assert r.code == 0
    assert r.out == json_schema_text()
    assert json.loads(r.out) == scenario_json_schema()
    assert list(workdir.iterdir()) == []


def test_schema_to_a_file(workdir):
    r = shuangta("schema", "--out", "scenario.schema.json")
    assert (r.code, r.out) == (0, "scenario.schema.json\n")
    assert [p.name for p in workdir.iterdir()] == ["scenario.schema.json"]
    assert json.loads((workdir / "scenario.schema.json").read_text(encoding="utf-8")) == scenario_json_schema()


# --- levers ----------------------------------------------------------------------


def test_levers_json(model_file, workdir):
    r = shuangta("levers", "--model", str(model_file), "--format", "json")
    assert r.code == 0
    rows = json.loads(r.out)
    assert [row["name"] for row in rows] == [
        "Investment Rate", "Key Project Investment", "Net Migration", "Project Realisation Rate"
    ]
    assert set(rows[0]) == {"name", "units", "lower", "upper", "default", "description", "chinese", "source"}
    net = rows[2]
    assert (net["units"], net["lower"], net["upper"], net["default"]) == ("Person/Year", -20000.0, 20000.0, -3000.0)
    assert (net["chinese"], net["source"]) == ("净迁移人口", "Statistical yearbook.")


def test_levers_csv_all(model_file, workdir):
    r = shuangta("levers", "--model", str(model_file), "--format", "csv", "--all")
    assert r.code == 0
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert list(rows[0]) == ["name", "kind", "units", "lower", "upper", "default", "description", "chinese", "source"]
    kinds = {row["name"]: row["kind"] for row in rows}
    assert kinds["Depreciation Rate"] == "uncertain" and kinds["Investment Rate"] == "lever"
    assert len(rows) == 6


def test_levers_table(model_file, workdir):
    r = shuangta("levers", "--model", str(model_file))
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split()[:4] == ["name", "units", "range", "default"]
    assert any("Key Project Investment" in line and "[0, 2000]" in line and "重点项目投资" in line for line in lines)
    assert not any("Depreciation Rate" in line for line in lines)


def test_commands_are_registered():
    assert {"validate", "diff", "schema", "levers"} <= set(cli.commands)
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0 and "--model" in result.output
