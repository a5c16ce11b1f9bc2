"""The identity of the numbers: each component counts, and only what decides the numbers counts."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

from conftest import SCENARIOS
from sim.engine.identity import COMPONENTS, changed_components, describe_changes, numbers_identity, targets_sha256
from sim.plan.targets import DEFAULT_TARGETS, load_targets

BASE = {"levers": {"Realisation Improvement": 1.2}}


def fake_model(sha="a" * 64, calibration=None):
    return SimpleNamespace(sha256=sha, calibration=dict(calibration or {}))


def test_each_component_changes_the_identity_and_is_named():
    targets = load_targets()
    reference = numbers_identity(fake_model(calibration={"x": 1.0}), BASE, targets)
    assert set(reference["components"]) == set(COMPONENTS)
    other_targets = [t for t in targets if t.id != targets[0].id]
    variants = {
        "model": numbers_identity(fake_model("b" * 64, {"x": 1.0}), BASE, targets),
        "calibration": numbers_identity(fake_model(calibration={"x": 1.5}), BASE, targets),
        "targets": numbers_identity(fake_model(calibration={"x": 1.0}), BASE, other_targets),
        "base": numbers_identity(fake_model(calibration={"x": 1.0}), {"levers": {"Realisation Improvement": 1.3}},
                                 targets),
    }
    for component, identity in variants.items():
        assert identity["sha256"] != reference["sha256"]
        assert changed_components(reference, identity) == [component]
        assert "then" in describe_changes([component], reference, identity)
    assert changed_components(None, reference) == list(COMPONENTS)  # a folder without a record


def test_only_what_decides_the_numbers_counts(tmp_path):
    one = numbers_identity(fake_model(calibration={"x": 1.0, "y": 2.0}), BASE)
    two = numbers_identity(fake_model(calibration={"y": 2.0, "x": 1.0}), dict(BASE))
    assert one == two  # the order of calibration rows does not matter
    copy = tmp_path / "targets.toml"
    shutil.copy2(DEFAULT_TARGETS, copy)
    copy.write_text("# only a comment is new\n" + copy.read_text(encoding="utf-8"), encoding="utf-8")
    assert targets_sha256(load_targets(copy)) == targets_sha256(load_targets())


def test_run_manifest_records_the_identity(model, tmp_path):
    from sim.engine.run import run_scenarios
    from sim.specs.scenario import load_scenario

    result = run_scenarios([SCENARIOS / "plan.toml"], out=tmp_path, model_path=model.path)[0]
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    scenario = load_scenario(SCENARIOS / "plan.toml", model)
    assert manifest["identity"] == numbers_identity(model, scenario.resolved_dict(), load_targets())
