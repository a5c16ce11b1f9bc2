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
``__version__``. ``sim.reach`` and ``sim.calibrate`` are the functions, not the
modules of the same name; import those modules with ``from sim.reach import ...``.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "sim.model": ("DEFAULT_MODEL", "Lever", "Model", "load_model"),
    "sim.scenario": ("LeverValue", "Scenario", "diff_scenarios", "load_scenario", "validate_files"),
    "sim.run": ("run_scenario", "run_scenarios", "run_spec", "simulate"),
    "sim.targets": ("Target", "evaluate", "format_verdicts", "load_targets"),
    "sim.results": ("read_run", "write_run"),
    "sim.sweep": ("load_sweep", "read_sweep", "run_sweep"),
    "sim.sensitivity": ("read_sensitivity", "run_sensitivity"),
    "sim.discovery": ("discover",),
    "sim.reach": ("format_reach", "reach", "write_reach"),
    "sim.consistency": ("check_consistency", "format_consistency", "write_consistency"),
    "sim.calibrate": ("calibrate",),
    "sim.checks": ("format_checks", "run_checks"),
    "sim.plots": ("plot_runs", "plot_sweep"),
    "sim.report": ("build_report",),
    "sim.loop_results": ("read_loops", "run_loops"),
    "sim.diagram": ("draw_diagrams",),
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


#: Functions named like their module (``sim.reach.reach``): importing the module must not replace them.
_SAME_NAME = {name for name, module in _MODULE_OF.items() if module == f"{__name__}.{name}"}


class _Package(types.ModuleType):
    """The ``sim`` package. Importing a submodule binds it as an attribute of the package; for the
    modules in :data:`_SAME_NAME` the public function is bound instead, so ``sim.reach`` is the
    function whichever module was imported first."""

    def __setattr__(self, name: str, value) -> None:
        if name in _SAME_NAME and isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
