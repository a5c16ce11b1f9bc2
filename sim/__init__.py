"""shuangta-sd: a system-dynamics model of Shuangta District's economy.

Public API (everything the command line does is available from Python)::

    import sim

    model = sim.load_model()                                  # model/shuangta.mdl
    plan = sim.load_scenario("scenarios/plan.toml", model)
    timeseries = sim.run_scenario(model, plan)                # pandas DataFrame indexed by year
    verdicts = sim.evaluate(sim.load_targets(), timeseries)   # the plan's targets
    result = sim.reach(model, ["T1"], base="plan")            # what would it take

The names below are imported from their modules on first use, so ``import
sim`` stays light (no PySD, pandas or numpy): the command line imports it for
``__version__``. The modules live in subpackages that follow the pipeline (``sim.model``,
``sim.specs``, ``sim.plan``, ``sim.engine``, ``sim.analysis``, ``sim.present``; see
docs/architecture.md), so ``sim.reach`` and ``sim.calibrate`` are always the functions.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "sim.model.loader": ("DEFAULT_MODEL", "Lever", "Model", "load_model"),
    "sim.specs.levers": ("LeverValue", "Scenario"),
    "sim.specs.scenario": ("load_scenario", "validate_files"),
    "sim.specs.scenario_text": ("diff_scenarios",),
    "sim.engine.run": ("run_scenario", "run_scenarios", "run_spec", "simulate"),
    "sim.plan.targets": ("Target", "evaluate", "format_verdicts", "load_targets"),
    "sim.engine.results": ("read_run", "write_run"),
    "sim.specs.sweep": ("load_sweep",),
    "sim.engine.sweep": ("run_sweep",),
    "sim.engine.sweep_folder": ("read_sweep",),
    "sim.analysis.sensitivity": ("read_sensitivity", "run_sensitivity"),
    "sim.analysis.discovery": ("discover",),
    "sim.analysis.reach": ("reach",),
    "sim.analysis.reach_output": ("format_reach", "write_reach"),
    "sim.analysis.consistency": ("check_consistency", "format_consistency", "write_consistency"),
    "sim.analysis.calibrate": ("calibrate",),
    "sim.analysis.suite": ("format_checks", "run_checks"),
    "sim.present.plots": ("plot_runs",),
    "sim.present.plots_sweep": ("plot_sweep",),
    "sim.present.report": ("build_report",),
    "sim.analysis.loop_results": ("read_loops", "run_loops"),
    "sim.present.diagram": ("draw_diagrams",),
    "sim.errors": ("InputError", "ModelError", "RunError", "ScenarioError", "SimError"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_MODULE_OF]


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
