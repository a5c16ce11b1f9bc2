"""Scenario files without a model: structure, inheritance, lever values, hashes, the JSON Schema.

Checks of meaning against a model are in test_scenario_model.py; the malformed
corpus through the command line is in tests/cli/test_scenario_cli.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from sim.specs import scenario as sc
from sim.errors import InputError, ScenarioError
from sim.specs import scenario_text
from sim.specs.scenario import load_scenario
from sim.specs.levers import LeverValue, RunSettings
from sim.specs.scenario_text import scenario_json_schema
from sim.specs.validation import show_number

DATA = Path(__file__).resolve().parents[1] / "data" / "scenarios"
GOOD = DATA / "good"
REPO = Path(__file__).resolve().parents[2]

#: Hand arithmetic is exact in binary for these values; this only absorbs rounding.
TOL = 1e-12

HEAD = 'schema_version = 1\nname = "t"\ndescription = "test"\n'


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs) -> list[tuple[str, str, str]]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    return info.value.problems


# --- LeverValue ------------------------------------------------------------


def test_constant_is_the_same_at_every_time_and_keeps_the_shape():
    v = LeverValue.constant(0.4)
    times = np.array([[2020.0, 2025.5], [2030.0, 2099.0]])
    out = v.at(times)
    assert out.shape == (2, 2)
    assert np.all(out == 0.4)
    assert v.to_jsonable() == 0.4
    assert not v.is_series


def test_linear_series_interpolates_and_holds_the_ends():
    v = LeverValue.series({2025: 0.8, 2021: 0.6})  # order in the file does not matter
    times = np.array([2019.0, 2020.0, 2021.0, 2022.0, 2023.5, 2025.0, 2030.0])
    # 0.6 -> 0.8 over 4 years: 0.05 a year
    expected = [0.6, 0.6, 0.6, 0.65, 0.725, 0.8, 0.8]
    np.testing.assert_allclose(v.at(times), expected, rtol=0, atol=TOL)
    assert list(v.points) == [2021, 2025]


def test_step_series_holds_each_value_until_the_next_year():
    v = LeverValue.series({2021: 400, 2023: 800, 2026: 1200}, step=True)
    times = np.array([2020.0, 2021.0, 2022.875, 2023.0, 2025.5, 2025.9375, 2026.0, 2035.0])
    expected = [400, 400, 400, 800, 800, 800, 1200, 1200]
    np.testing.assert_array_equal(v.at(times), expected)


def test_series_on_a_fine_time_grid():
    v = LeverValue.series({2022: -3000, 2030: 1000})
    grid = np.arange(2020, 2035 + 1 / 32, 1 / 32)
    got = v.at(grid)
    assert got.shape == grid.shape
    by_hand = np.where(grid <= 2022, -3000.0, np.where(grid >= 2030, 1000.0, -3000.0 + 500.0 * (grid - 2022)))
    np.testing.assert_allclose(got, by_hand, rtol=0, atol=TOL)


def test_one_point_series_is_flat_and_scalar_time_works():
    v = LeverValue.series({2025: 0.5}, step=True)
    assert float(v.at(2020.0)) == 0.5
    assert float(v.at(2030.0)) == 0.5


def test_to_jsonable_and_parse_round_trip():
    for v in (
        LeverValue.constant(3),
        LeverValue.series({2021: 0.6, 2025: 0.8}),
        LeverValue.series({2021: 1, 2023: 2}, step=True),
    ):
        raw = v.to_jsonable()
        json.dumps(raw)
        assert LeverValue.parse(raw) == v
    assert LeverValue.series({2021: 1}, step=True).to_jsonable() == {"2021": 1.0, "step": True}
    assert LeverValue.series({2021: 1}).to_jsonable() == {"2021": 1.0}


def test_lever_value_needs_exactly_one_form():
    with pytest.raises(ValueError):
        LeverValue()
    with pytest.raises(ValueError):
        LeverValue(value=1.0, points={2021: 1.0})
    with pytest.raises(ValueError):
        LeverValue(points={})


# --- Inheritance -----------------------------------------------------------


def test_chain_of_three_resolves_lever_by_lever():
    s = load_scenario(GOOD / "leaf.toml")
    assert [p.name for p in s.chain] == ["root.toml", "middle.toml", "leaf.toml"]
    assert (s.name, s.description) == ("leaf", "Key-project investment in steps, migration turning positive.")
    assert set(s.levers) == {"Investment Rate", "Key Project Investment", "Net Migration", "Project Realisation Rate"}
    # who set what: root's Investment Rate overridden by middle; root's other two by leaf
    assert s.sources["Investment Rate"].name == "middle.toml"
    assert s.sources["Project Realisation Rate"].name == "middle.toml"
    assert s.sources["Key Project Investment"].name == "leaf.toml"
    # [run] merges field by field: final_time from middle, time_step from root
    assert s.run == RunSettings(final_time=2030.0, time_step=0.125)

    t = np.array([2020.0, 2021.0, 2022.0, 2023.0, 2024.5, 2026.0, 2030.0])
    np.testing.assert_allclose(s.levers["Investment Rate"].at(t), [0.4] * 7, rtol=0, atol=TOL)
    # linear 0.6 (2021) -> 0.8 (2025): +0.05 a year
    np.testing.assert_allclose(
        s.levers["Project Realisation Rate"].at(t), [0.6, 0.6, 0.65, 0.7, 0.775, 0.8, 0.8], rtol=0, atol=TOL
    )
    # steps 400 (2021), 800 (2023), 1200 (2026)
    np.testing.assert_array_equal(
        s.levers["Key Project Investment"].at(t), [400, 400, 400, 800, 800, 1200, 1200]
    )
    # linear -3000 (2022) -> 1000 (2030): +500 a year
    np.testing.assert_allclose(
        s.levers["Net Migration"].at(t), [-3000, -3000, -3000, -2500, -1750, -1000, 1000], rtol=0, atol=TOL
    )


def test_base_given_as_relative_path():
    s = load_scenario(GOOD / "by_path.toml")
    assert [p.name for p in s.chain] == ["root.toml", "by_path.toml"]
    assert s.levers["Investment Rate"].value == 0.2
    assert s.levers["Key Project Investment"].value == 500


def test_base_next_to_the_file_wins_over_the_scenarios_folder(tmp_path, monkeypatch):
    shared = tmp_path / "project_scenarios"
    shared.mkdir()
    here = tmp_path / "mine"
    here.mkdir()
    write(shared, "common.toml", HEAD + '[levers]\n"Investment Rate" = 0.1\n')
    child = write(here, "child.toml", HEAD + 'base = "common"\n')
    monkeypatch.setattr(sc, "SCENARIO_DIR", shared)
    assert load_scenario(child).levers["Investment Rate"].value == 0.1  # found in the scenarios folder
    write(here, "common.toml", HEAD + '[levers]\n"Investment Rate" = 0.9\n')
    assert load_scenario(child).levers["Investment Rate"].value == 0.9  # the one next to the file
    assert load_scenario(child, search_dirs=[]).chain[0] == here / "common.toml"


def test_absolute_base_path(tmp_path):
    base = write(tmp_path, "b.toml", HEAD + '[levers]\n"Investment Rate" = 0.25\n')
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    child = write(sub, "c.toml", HEAD + f"base = {json.dumps(str(base))}\n")
    assert load_scenario(child).levers["Investment Rate"].value == 0.25


def test_missing_base_suggests_a_close_name(tmp_path):
    write(tmp_path, "baseline.toml", HEAD)
    child = write(tmp_path, "c.toml", HEAD + 'base = "baselin"\n')
    [(file, key, msg)] = problems_of(child, search_dirs=[])
    assert (file, key) == (str(child), "base")
    assert "did you mean 'baseline'?" in msg


def test_cycle_is_reported_with_the_chain(tmp_path):
    a = write(tmp_path, "a.toml", HEAD + 'base = "b"\n')
    b = write(tmp_path, "b.toml", HEAD + 'base = "c"\n')
    write(tmp_path, "c.toml", HEAD + 'base = "b"\n')
    [(file, key, msg)] = problems_of(a, search_dirs=[])
    # a is outside the loop b -> c -> b: the loop is reported at its first file, b
    assert (file, key) == (str(b), "base")
    assert msg == f"cycle of base scenarios: {a} -> {b} -> {tmp_path / 'c.toml'} -> {b}"


def test_problems_of_every_file_in_the_chain_are_reported_leaf_first(tmp_path):
    write(tmp_path, "base.toml", 'schema_version = 1\nname = "base"\ndescription = 3\n')
    child = write(tmp_path, "child.toml", 'schema_version = 1\nname = "child"\ndescription = "x"\nbase = "base"\nextra = 1\n')
    problems = problems_of(child, search_dirs=[])
    assert [(Path(f).name, k) for f, k, _ in problems] == [("child.toml", "extra"), ("base.toml", "description")]


def test_malformed_override_does_not_fall_back_to_the_base(tmp_path):
    write(tmp_path, "base.toml", HEAD + '[levers]\n"Investment Rate" = 0.3\n')
    child = write(tmp_path, "child.toml", HEAD + 'base = "base"\n[levers]\n"Investment Rate" = "x"\n')
    data = sc.read_scenario_file(child)
    assert data.lever_names == ["Investment Rate"] and data.levers == {}
    merged = sc._merge([sc.read_scenario_file(tmp_path / "base.toml"), data])
    assert "Investment Rate" not in merged["levers"]


# --- Structure -------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 0.5, 0.25, 0.125, 0.0625, 0.03125, 2.0**-10])
def test_time_steps_that_divide_a_year(tmp_path, step):
    path = write(tmp_path, "s.toml", HEAD + f"[run]\ntime_step = {step!r}\n")
    assert load_scenario(path).run.time_step == step


@pytest.mark.parametrize("step", ["0", "-0.25", "0.3", "0.2", "0.1", "2", "0.75", "true", '"0.25"', "nan", str(2.0**-11)])
def test_time_steps_refused(tmp_path, step):
    path = write(tmp_path, "s.toml", HEAD + f"[run]\ntime_step = {step}\n")
    [(_, key, msg)] = problems_of(path)
    assert key == "run.time_step"
    assert "power-of-two fraction of a year" in msg


@pytest.mark.parametrize(
    "text, key, fragment",
    [
        ('[levers]\n"A" = true\n', "levers.A", "got boolean true"),
        ('[levers]\n"A" = -inf\n', "levers.A", "must be a finite number; got -inf"),
        ('[levers]\n"A" = 1979-05-27\n', "levers.A", "got date 1979-05-27"),
        ('[levers]\n"A" = { 2021 = 1, extra = 2 }\n', "levers.A.extra", "not a year"),
        ('[levers]\n"A" = { step = true }\n', "levers.A", "needs at least one year"),
        ('[levers]\n"A" = { 2021 = true }\n', "levers.A.2021", "must be a number; got boolean true"),
        ('[levers]\n"A" = { 21 = 1 }\n', "levers.A.21", "not a year"),
        ('[levers.A.2021]\nx = 1\n', "levers.A.2021", "must be a number; got table"),
        ("[run]\nfinal_time = true\n", "run.final_time", "must be a year"),
        ('[run]\nfinal_time = "2030"\n', "run.final_time", "must be a year"),
        ("run = 5\n", "run", "must be a table with final_time and/or time_step"),
        ('base = ""\n', "base", "must be the name of another scenario or a path"),
    ],
)
def test_structural_messages(tmp_path, text, key, fragment):
    path = write(tmp_path, "s.toml", HEAD + text)
    problems = problems_of(path, search_dirs=[])
    assert [k for _, k, _ in problems] == [key]
    assert fragment in problems[0][2]
    assert all("\n" not in m for _, _, m in problems)


def test_schema_version_true_is_not_1(tmp_path):
    path = write(tmp_path, "s.toml", 'schema_version = true\nname = "t"\ndescription = "x"\n')
    [(_, key, msg)] = problems_of(path)
    assert key == "schema_version" and "got boolean true" in msg


def test_every_structural_problem_of_a_file_is_reported(tmp_path):
    path = write(
        tmp_path,
        "s.toml",
        'schema_version = 3\nname = "a b"\ncolour = "red"\n[levers]\n"A" = nan\n"B" = { 2021 = "x", 20x1 = 1 }\n[run]\ntime_step = 0.3\n',
    )
    keys = sorted(k for _, k, _ in problems_of(path))
    assert keys == sorted(
        ["schema_version", "name", "description", "colour", "levers.A", "levers.B.2021", "levers.B.20x1", "run.time_step"]
    )


def test_unreadable_inputs(tmp_path):
    assert problems_of(tmp_path / "nope.toml") == [(str(tmp_path / "nope.toml"), "", "file not found")]
    [(_, _, msg)] = problems_of(tmp_path)
    assert "folder" in msg


def test_scenario_error_is_an_input_error_with_one_line_per_problem(tmp_path):
    path = write(tmp_path, "s.toml", 'schema_version = 1\n[levers]\n"A" = nan\n')
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.exit_code == 2
    assert len(str(info.value).splitlines()) == len(info.value.problems) == 3


# --- Resolved content, hashes ----------------------------------------------


def test_resolved_dict_of_the_chain():
    s = load_scenario(GOOD / "leaf.toml")
    assert s.resolved_dict() == {
        "schema_version": 1,
        "name": "leaf",
        "description": "Key-project investment in steps, migration turning positive.",
        "levers": {
            "Investment Rate": 0.4,
            "Key Project Investment": {"2021": 400.0, "2023": 800.0, "2026": 1200.0, "step": True},
            "Net Migration": {"2022": -3000.0, "2030": 1000.0},
            "Project Realisation Rate": {"2021": 0.6, "2025": 0.8},
        },
        "run": {"final_time": 2030.0, "time_step": 0.125},
    }
    json.dumps(s.resolved_dict())


def test_resolved_dict_is_itself_a_scenario_with_the_same_hash(tmp_path):
    s = load_scenario(GOOD / "leaf.toml")
    flat = tmp_path / "flat.toml"
    flat.write_text(tomli_w.dumps(s.resolved_dict()), encoding="utf-8")
    again = load_scenario(flat)
    assert again.levers == s.levers and again.run == s.run
    assert again.sha256() == s.sha256()
    assert len(s.sha256()) == 64


def test_hash_ignores_int_versus_float_and_order_but_not_values(tmp_path):
    a = write(tmp_path, "a.toml", HEAD + '[levers]\n"X" = 1\n"Y" = { 2021 = 2, 2025 = 3 }\n')
    b = write(tmp_path, "b.toml", HEAD + '[levers]\n"Y" = { 2025 = 3.0, 2021 = 2.0 }\n"X" = 1.0\n')
    c = write(tmp_path, "c.toml", HEAD + '[levers]\n"X" = 1\n"Y" = { 2021 = 2, 2025 = 3, step = true }\n')
    ha, hb, hc = (load_scenario(p).sha256() for p in (a, b, c))
    assert ha == hb != hc


# --- JSON Schema -----------------------------------------------------------


def _walk(schema, path="$"):
    """Yield (path, subschema) for every property of every object in the schema."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}", sub
        yield from _walk(sub, f"{path}.{name}")
    for pattern, sub in schema.get("patternProperties", {}).items():
        yield f"{path}[{pattern}]", sub
    for name, sub in schema.get("$defs", {}).items():
        yield from _walk(sub, f"$defs.{name}")


def test_json_schema_describes_every_field():
    schema = scenario_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["schema_version", "name", "description"]
    fields = dict(_walk(schema))
    assert {"$.schema_version", "$.name", "$.description", "$.base", "$.levers", "$.run"} <= set(fields)
    assert "$defs.RunTable.final_time" in fields and "$defs.TimeSeries.step" in fields
    missing = [p for p, sub in fields.items() if not sub.get("description")]
    assert missing == []
    for name, sub in schema["$defs"].items():
        assert sub.get("description"), name
        assert sub.get("additionalProperties") is False, name


def test_committed_schema_copy_is_current():
    """docs/scenario.schema.json is written by `shuangta schema --out docs/scenario.schema.json`."""
    committed = REPO / "docs" / "scenario.schema.json"
    assert committed.is_file(), "run: shuangta schema --out docs/scenario.schema.json"
    assert json.loads(committed.read_text(encoding="utf-8")) == scenario_json_schema()
    assert committed.read_text(encoding="utf-8") == scenario_text.json_schema_text()


def test_write_json_schema_reports_an_unwritable_place(tmp_path):
    with pytest.raises(InputError, match="cannot write the schema"):
        scenario_text.write_json_schema(tmp_path / "no" / "such" / "folder" / "s.json")
    out = scenario_text.write_json_schema(tmp_path / "s.json")
    assert json.loads(out.read_text(encoding="utf-8")) == scenario_json_schema()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_numbers_in_messages_are_written_as_people_write_them():
    assert [show_number(x) for x in (2000.0, 0.1, -3.0, math.nan, math.inf, 1e-7, 7)] == [
        "2000", "0.1", "-3", "nan", "inf", "1e-07", "7"
    ]
