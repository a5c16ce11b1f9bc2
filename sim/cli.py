"""The command line: ``shuangta COMMAND``. Thin: parse, call the library, say where results are.

Only this module prints or chooses exit codes; the library raises
:class:`sim.errors.SimError` and its children.
"""

from __future__ import annotations

import logging
import sys

import click

from sim import __version__
from sim.errors import SimError

log = logging.getLogger("sim")


class _Group(click.Group):
    """The command group: a :class:`SimError` from any command becomes ``error: ...`` and its exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SimError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shuangta")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("-v", "--verbose", count=True, help="More detail (-vv for debug).")
def cli(quiet: bool, verbose: int) -> None:
    """System-dynamics model of Shuangta District's 14th Five-Year Plan."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# Commands are defined below, one short function each. Add a command by
# inserting its function; keep library work in the library.


@cli.command("run")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Folder that receives one result folder per scenario.")
@click.option("--final-time", type=click.FloatRange(min=2021, max=2100), default=None,
              help="Last year simulated (default: the scenario's, else the model's).")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False), help="Another .mdl file.")
def run_command(scenarios: tuple[str, ...], out: str, final_time: float | None, model_path: str | None) -> None:
    """Run SCENARIOS (TOML files), write results and print the plan's target verdicts."""
    from sim.run import run_scenarios
    from sim.targets import format_verdicts

    results = run_scenarios(list(scenarios), out=out, final_time=final_time, model_path=model_path)
    for r in results:
        click.echo(f"\n== {r.name}  ({r.seconds * 1000:.0f} ms)  ->  {r.folder}")
        click.echo(format_verdicts(r.verdicts))


@cli.command("targets")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
    help="Plain-text listing, CSV or JSON.",
)
def targets_command(fmt: str) -> None:
    """List the plan's targets with their arithmetic and whether the model can evaluate them."""
    import json

    from sim.targets import format_targets, load_targets, targets_frame

    targets = load_targets()
    if fmt == "table":
        click.echo(format_targets(targets))
    elif fmt == "csv":
        click.echo(targets_frame(targets).to_csv(index=False), nl=False)
    else:
        click.echo(json.dumps(targets_frame(targets).to_dict("records"), ensure_ascii=False, indent=2))


@cli.command("plot")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--out", "out_dir", default="results/plots", show_default=True, type=click.Path(file_okay=False, path_type=str),
    help="Folder for the PNGs.",
)
def plot_command(folders: tuple[str, ...], out_dir: str) -> None:
    """Plot result folders (FOLDERS written by `run`): key variables, thresholds, verdict grid.

    A sweep folder (written by `sweep`) gets fan charts, target distributions and
    scatter plots in OUT/<folder name>/; a sensitivity folder (written by
    `sensitivity`) gets index bars, Morris plots, an ST heat map and tornado charts.
    """
    from pathlib import Path

    from sim.plots import plot_runs, plot_sensitivity, plot_sweep
    from sim.sensitivity import is_sensitivity_folder
    from sim.sweep import is_sweep_folder

    studies = [f for f in folders if is_sensitivity_folder(f)]
    sweeps = [f for f in folders if is_sweep_folder(f) and f not in studies]
    runs = [f for f in folders if f not in sweeps and f not in studies]
    if runs:
        for path in plot_runs(runs, out_dir):
            click.echo(str(path))
    for folder in sweeps:
        for path in plot_sweep(folder, Path(out_dir) / Path(folder).resolve().name):
            click.echo(str(path))
    for folder in studies:
        for path in plot_sensitivity(folder, Path(out_dir) / Path(folder).resolve().name):
            click.echo(str(path))


# --- scenario files (sim.scenario): validate, diff, schema, levers ---------

_scenario_model_option = click.option(
    "--model", "model_path", default=None, type=click.Path(dir_okay=False, path_type=str),
    help="Vensim model to check against [default: model/shuangta.mdl].",
)


def _scenario_model(model_path: str | None):
    """The model at ``--model``, or the project's model."""
    from sim.model import DEFAULT_MODEL, load_model

    return load_model(model_path or DEFAULT_MODEL)


@cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@_scenario_model_option
def validate_command(files: tuple[str, ...], model_path: str | None) -> None:
    """Check scenario FILES: structure, then meaning against the model. Exit status 2 on any problem."""
    from sim.errors import ScenarioError
    from sim.scenario import validate_files

    ok, problems = validate_files(files, _scenario_model(model_path))
    for path in ok:
        click.echo(f"ok  {path}")
    if problems:
        raise ScenarioError(problems)


@cli.command("diff")
@click.argument("a", type=click.Path(path_type=str))
@click.argument("b", type=click.Path(path_type=str))
@_scenario_model_option
@click.option("--no-model", is_flag=True, help="Compare the files alone (a lever one side leaves out shows 'unset').")
def diff_command(a: str, b: str, model_path: str | None, no_model: bool) -> None:
    """Levers whose values differ between scenarios A and B, bases resolved: lever | A | B."""
    from sim.scenario import diff_report

    click.echo(diff_report(a, b, None if no_model else _scenario_model(model_path)))


@cli.command("schema")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="Write to this file instead of standard output.")
def schema_command(out_file: str | None) -> None:
    """The JSON Schema of scenario files, for editors (e.g. docs/scenario.schema.json)."""
    from sim.scenario import json_schema_text, write_json_schema

    if out_file:
        click.echo(str(write_json_schema(out_file)))
    else:
        click.echo(json_schema_text(), nl=False)


@cli.command("levers")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
    help="Plain-text listing (long texts shortened), CSV or JSON (full text).",
)
@click.option("--all", "include_uncertain", is_flag=True, help="Add the uncertain parameters (with a kind column).")
@_scenario_model_option
def levers_command(fmt: str, include_uncertain: bool, model_path: str | None) -> None:
    """The model's policy levers: name, units, range, default, description, Chinese term, source."""
    from sim.scenario import format_levers, lever_rows

    click.echo(format_levers(lever_rows(_scenario_model(model_path), include_uncertain), fmt))


@cli.command("sweep")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Sweep folder [default: results/sweeps/<name>].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: the number of CPUs; 1 runs in this process].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the chunks on a running dask cluster, e.g. tcp://10.0.0.5:8786.")
@click.option("--resume", is_flag=True, help="Continue an interrupted sweep in --out, skipping finished chunks.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Runs per chunk [default: 5000, or all runs when fewer].")
@_scenario_model_option
def sweep_command(spec: str, out: str | None, workers: int | None, scheduler: str | None, resume: bool,
                  chunk_size: int | None, model_path: str | None) -> None:
    """Run the sweep file SPEC: many runs over sampled or gridded levers, with target probabilities."""
    from sim.sweep import format_summary, run_sweep

    quiet = bool(click.get_current_context().find_root().params.get("quiet"))

    def bar(total: int, done: int):
        from tqdm import tqdm

        return tqdm(total=total, initial=done, unit="run", unit_scale=True, dynamic_ncols=True, smoothing=0.1,
                    desc="sweep", file=sys.stderr)

    result = run_sweep(spec, out, model_path=model_path, workers=workers, scheduler=scheduler, resume=resume,
                       chunk_size=chunk_size, progress=None if quiet else bar, command=sys.argv)
    if quiet:
        return
    rate = result.evaluated / result.seconds if result.seconds > 0 else float("nan")
    done = f", {result.chunks_skipped} of {result.chunks} chunks done before" if result.chunks_skipped else ""
    click.echo(f"\n== sweep {result.name}: {result.runs} runs, {result.failed} failed; {result.evaluated} runs "
               f"evaluated in {result.seconds:.1f} s ({rate:,.0f} runs/s){done}  ->  {result.folder}")
    click.echo(format_summary(result.summary))


@cli.command("calibrate")
@click.argument("spec", type=click.Path(dir_okay=False, exists=True, path_type=str))
@click.option("--out", "out", default="results/calibration", show_default=True, type=click.Path(file_okay=False),
              help="Folder that receives one result folder named after the spec.")
@click.option("--apply", "apply_", is_flag=True,
              help="Also write the fitted values into model/data/calibration.csv (the model's calibrated defaults).")
@click.option("--starts", type=click.IntRange(min=1), default=None, help="Optimiser starts (default: the spec's).")
@click.option("--profile-points", type=click.IntRange(min=0), default=None,
              help="Grid points of each profile (default: the spec's; 0 or 1: no profiles).")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False), help="Another .mdl file.")
def calibrate_command(spec: str, out: str, apply_: bool, starts: int | None, profile_points: int | None,
                      model_path: str | None) -> None:
    """Fit the free quantities of calibration SPEC (TOML) to history; write values, fit statistics and a plot."""
    from sim.calibrate import apply_calibration, calibrate, format_result, write_calibration
    from sim.model import DEFAULT_MODEL

    result = calibrate(spec, model_path or DEFAULT_MODEL, starts=starts, profile_points=profile_points,
                       progress=lambda text: log.info(text))
    folder = write_calibration(result, out)
    click.echo(format_result(result))
    click.echo(f"\nwritten to {folder}")
    if apply_:
        click.echo(f"calibrated defaults written to {apply_calibration(result)}")


@cli.command("check")
@click.option("--only", "only", multiple=True,
              type=click.Choice(["dimensions", "extremes", "extremes-uncertain", "integration", "conservation",
                                 "behaviour", "reality"]),
              help="Run only this test (repeatable).")
@click.option("--data", "data_path", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Validation data [default: model/data/reality_checks.toml].")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False), help="Another .mdl file.")
@click.pass_context
def check_command(ctx: click.Context, only: tuple[str, ...], data_path: str | None, model_path: str | None) -> None:
    """Run the validation suite; print each test's result with its figures. Exit status 1 if any test fails."""
    from sim.checks import REALITY_CHECKS, format_checks, run_checks
    from sim.model import DEFAULT_MODEL

    results = run_checks(model_path or DEFAULT_MODEL, data_path or REALITY_CHECKS, list(only) or None,
                         progress=lambda text: log.info(text))
    click.echo(format_checks(results))
    if not all(r.passed for r in results):
        ctx.exit(1)


# --- what would it take: reach and consistency (sim.reach, sim.consistency) ---


def _stage_progress(quiet: bool):
    """A ``progress(stage, done, total)`` callback drawing one tqdm bar per stage on stderr (None when quiet)."""
    if quiet:
        return None
    from tqdm import tqdm

    bars = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="step", dynamic_ncols=True, leave=False, file=sys.stderr)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _check_out(out: str | None) -> None:
    """Refuse, before any work, an --out that exists and is not a result folder."""
    from pathlib import Path

    from sim.errors import InputError
    from sim.results import is_result_folder

    if out is None:
        return
    path = Path(out)
    if path.exists() and (not path.is_dir() or (not is_result_folder(path) and any(path.iterdir()))):
        raise InputError(f"--out: {path} exists and is not a result folder; choose another folder")


_search_options = [
    click.option("--levers", "levers", multiple=True, metavar="NAME",
                 help="A lever to search (repeat the option, or separate names by commas) [default: every LEVER]."),
    click.option("--base", "base", default=None, metavar="SCENARIO",
                 help="Base scenario: a file, or a name in scenarios/ [default: scenarios/plan.toml]."),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Latin-hypercube starts."),
]


def _with_search_options(fn):
    for option in reversed(_search_options):
        fn = option(fn)
    return fn


@cli.command("reach")
@click.argument("targets", nargs=-1, required=True)
@_with_search_options
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Result folder [default: results/reach/<targets joined by _>].")
@click.option("--write-scenario", "scenario_file", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="Also write the found lever values as a runnable scenario file (.toml).")
@click.option("--samples", type=click.IntRange(min=1), default=2048, show_default=True,
              help="Latin-hypercube points that pick the starts.")
@click.option("--starts", type=click.IntRange(min=1), default=6, show_default=True, help="Local searches.")
@_scenario_model_option
def reach_command(targets: tuple[str, ...], levers: tuple[str, ...], base: str | None, seed: int,
                  out: str | None, scenario_file: str | None, samples: int, starts: int, model_path: str | None) -> None:
    """The smallest change to the levers that meets TARGETS (ids such as T1 T7) in 2025.

    Distance is measured in units of each lever's range. Prints the needed lever
    values against the 2016-2020 record and the plan, and every target's verdict
    at the found point; writes reach.json, reach.csv, targets.csv, timeseries.csv.
    """
    from sim.reach import check_scenario_path, default_out, format_reach, reach, write_reach, write_reach_scenario

    if scenario_file is not None:
        check_scenario_path(scenario_file, base)
    _check_out(out)
    quiet = bool(click.get_current_context().find_root().params.get("quiet"))
    result = reach(_scenario_model(model_path), list(targets), list(levers) or None, base, seed=seed, samples=samples,
                   starts=starts, progress=_stage_progress(quiet))
    folder = write_reach(result, out or default_out(result.targets), sys.argv)
    written = write_reach_scenario(result, scenario_file, sys.argv) if scenario_file else None
    if not quiet:
        click.echo(format_reach(result))
        click.echo(f"\n{result.seconds:.1f} s, {result.members:,} runs  ->  {folder}")
        if written:
            click.echo(f"scenario written to {written}")


@cli.command("consistency")
@_with_search_options
@click.option("--out", "out", default="results/consistency", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Result folder.")
@click.option("--samples", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Latin-hypercube points that pick the starts.")
@click.option("--starts", type=click.IntRange(min=1), default=3, show_default=True, help="Local searches per target set.")
@_scenario_model_option
def consistency_command(levers: tuple[str, ...], base: str | None, seed: int, out: str,
                        samples: int, starts: int, model_path: str | None) -> None:
    """Which of the plan's targets can be met together inside the lever ranges: every pair and the full set.

    Writes matrix.csv, min_gap_matrix.csv, matrix.png (green feasible, red not),
    section4.csv and consistency.json; prints the summary and the check of each
    contradiction listed in plan-figures.md §4.
    """
    from sim.consistency import check_consistency, format_consistency, write_consistency

    _check_out(out)
    quiet = bool(click.get_current_context().find_root().params.get("quiet"))
    result = check_consistency(_scenario_model(model_path), list(levers) or None, base, seed=seed, samples=samples,
                               starts=starts, progress=_stage_progress(quiet))
    folder = write_consistency(result, out, sys.argv)
    if not quiet:
        click.echo(format_consistency(result))
        click.echo(f"\n{result.seconds:.1f} s, {result.members:,} runs  ->  {folder}")


@cli.command("bench")
@click.option("--scenario", default="scenarios/plan.toml", show_default=True, type=click.Path(dir_okay=False),
              help="Base scenario the members vary around.")
@click.option("--sizes", default="1,100,10000,100000", show_default=True, help="Ensemble sizes N, comma-separated.")
@click.option("--pysd-runs", default=20, show_default=True, type=click.IntRange(min=1), help="Plain PySD runs timed.")
@click.option("--ema-runs", default=10, show_default=True, type=click.IntRange(min=0),
              help="EMA Workbench connector runs timed (if installed; 0 skips).")
def bench_command(scenario: str, sizes: str, pysd_runs: int, ema_runs: int) -> None:
    """Measure runs/s of plain PySD, EMA Workbench's connector and the ensemble runner."""
    from sim.bench import bench, format_report
    from sim.model import load_model
    from sim.run import run_spec
    from sim.scenario import load_scenario

    try:
        ns = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(f"{sizes!r} is not a comma-separated list of integers", param_hint="--sizes")
    model = load_model()
    spec = run_spec(model, load_scenario(scenario, model))
    click.echo(format_report(bench(model, spec, sizes=ns, pysd_runs=pysd_runs, ema_runs=ema_runs)))


# --- scenario discovery and the planners' report (sim.discovery, sim.report) ---


@cli.command("discover")
@click.argument("args", nargs=-1, required=True, metavar="SWEEP_DIR [--targets T1 T7]")
@click.option("--targets", "targets", multiple=True, metavar="ID",
              help="Targets that must all be met: --targets T1 T7, or repeat the option, or T1,T7 [default: T1 T7].")
@click.option("--threshold", type=click.FloatRange(min=0, max=1, min_open=True), default=0.8, show_default=True,
              help="Density the chosen box must reach (default choice: the last such box on the trajectory).")
@click.option("--box", "box", type=int, default=None, metavar="K",
              help="Choose box K of the peeling trajectory instead (negative counts from the end).")
@click.option("--top", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=None,
              help="Take the top share of runs by worst normalised gap as the cases even when some runs meet "
                   "the targets [default: only when none does, 0.1].")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Result folder [default: results/discovery/<sweep>_<targets>].")
@click.option("--write-scenario", "scenario_file", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="Also write the chosen box as a runnable scenario file (.toml).")
@_scenario_model_option
def discover_command(args: tuple[str, ...], targets: tuple[str, ...], threshold: float, box: int | None,
                     top: float | None, out: str | None, scenario_file: str | None, model_path: str | None) -> None:
    """PRIM scenario discovery on a sweep folder: the boxes of factor values in which TARGETS are all met.

    When no run meets them all, the cases are the top decile of runs by the
    worst normalised gap, and the output says so. Writes trajectory.csv (the
    peeling trajectory), boxes.csv, box.csv (the chosen box with quasi-p-values),
    tradeoff.png, box.png and discovery.json. Needs EMA Workbench
    (pip install -e '.[discovery]').
    """
    from pathlib import Path

    from sim.discovery import DEFAULT_TARGETS, default_out, discover, format_discovery, load_prim, write_discovery
    from sim.discovery import write_discovery_scenario
    from sim.errors import InputError

    folders = [a for a in args if Path(a).is_dir()]
    extra = [a for a in args if a not in folders]
    if len(folders) != 1:
        what = "no folder" if not folders else f"{len(folders)} folders ({', '.join(folders)})"
        missing = f"; not a folder: {', '.join(extra)}" if extra else ""
        raise InputError(f"give exactly one sweep folder, got {what}{missing}")
    if extra and not targets:
        raise InputError(f"unexpected argument {' '.join(extra)}: target ids follow --targets (e.g. --targets T1 T7)")
    ids = [t.strip() for part in (*targets, *extra) for t in part.split(",") if t.strip()] or list(DEFAULT_TARGETS)
    load_prim()
    if scenario_file is not None:
        from sim.reach import check_scenario_path

        check_scenario_path(scenario_file)
    _check_out(out)
    model = _scenario_model(model_path)
    result = discover(folders[0], ids, threshold=threshold, box=box, top=top, model=model)
    folder = write_discovery(result, out or default_out(result), sys.argv)
    written = write_discovery_scenario(result, scenario_file, model, sys.argv) if scenario_file else None
    if not bool(click.get_current_context().find_root().params.get("quiet")):
        click.echo(format_discovery(result))
        click.echo(f"\n{result.seconds:.1f} s  ->  {folder}")
        if written:
            click.echo(f"scenario written to {written}")


@cli.command("report")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of headings, labels and charts (zh: Chinese, charts with a CJK font when one is found).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The HTML file to write (one self-contained page).")
@_scenario_model_option
def report_command(folders: tuple[str, ...], lang: str, out: str, model_path: str | None) -> None:
    """One self-contained HTML page for planners from result FOLDERS of any kind.

    Scenario runs, sweeps, sensitivity, reach, consistency and discovery
    folders (or folders holding them, e.g. results/) are read, never
    re-simulated; charts are drawn from their data and embedded. The page
    opens with answers to the headline questions and ends with the
    assumptions (lever catalogue) and the targets' arithmetic.
    """
    from sim.report import build_report, write_report

    report = build_report(list(folders), lang=lang, model_path=model_path)
    path = write_report(report, out)
    if not bool(click.get_current_context().find_root().params.get("quiet")):
        for note in report.notes:
            click.echo(f"note: {note}")
        click.echo(f"{len(report.folders)} result folders ({', '.join(report.kinds())}) -> {path}")


@cli.command("sensitivity")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=str))
@click.option("--method", type=click.Choice(["sobol", "morris", "fast"]), default=None,
              help="SALib method [default: the spec's, else sobol].")
@click.option("--n", "n", type=click.IntRange(min=1), default=None,
              help="Sample size: Sobol' base N (a power of 2; runs N(D+2)), Morris trajectories (runs N(D+1)), "
                   "FAST points per factor (runs N D) [default: the spec's].")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Study folder [default: results/sensitivity/<name>].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: the number of CPUs; 1 runs in this process].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the chunks on a running dask cluster, e.g. tcp://10.0.0.5:8786.")
@click.option("--resume", is_flag=True, help="Continue an interrupted study in --out, skipping finished chunks.")
@click.option("--second-order/--no-second-order", "second_order", default=None,
              help="Sobol' second-order indices S2 (runs N(2D+2)) [default: the spec's].")
@click.option("--time-resolved/--no-time-resolved", "time_resolved", default=None,
              help="Also the indices of the time-resolved variables at every saved year [default: the spec's].")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Runs per chunk [default: 5000, or all runs when fewer].")
@_scenario_model_option
def sensitivity_command(spec: str, method: str | None, n: int | None, out: str | None, workers: int | None,
                        scheduler: str | None, resume: bool, second_order: bool | None, time_resolved: bool | None,
                        chunk_size: int | None, model_path: str | None) -> None:
    """Global sensitivity analysis of SPEC (scenarios/sensitivity/*.toml): SALib's Sobol', Morris or FAST indices."""
    from sim.sensitivity import format_indices, format_warnings, run_sensitivity

    quiet = bool(click.get_current_context().find_root().params.get("quiet"))

    def bar(total: int, done: int):
        from tqdm import tqdm

        return tqdm(total=total, initial=done, unit="run", unit_scale=True, dynamic_ncols=True, smoothing=0.1,
                    desc="sensitivity", file=sys.stderr)

    result = run_sensitivity(spec, out, model_path=model_path, method=method, n=n, second_order=second_order,
                             time_resolved=time_resolved, workers=workers, scheduler=scheduler, resume=resume,
                             chunk_size=chunk_size, progress=None if quiet else bar, command=sys.argv)
    if quiet:
        return
    click.echo(f"\n== sensitivity {result.name}: {result.method}, N = {result.n:,}, {len(result.factors)} factors, "
               f"{result.runs:,} runs ({result.failed} failed); runs {result.run_seconds:.1f} s, analysis "
               f"{result.analysis_seconds:.1f} s  ->  {result.folder}\n")
    click.echo(format_indices(result))
    warnings = format_warnings(result)
    if warnings:
        click.echo("\nwarnings:\n" + warnings)


def _interrupted_text(exc: BaseException) -> str:
    """One line for a stop by Ctrl-C or SIGTERM: the library's hint (e.g. rerun with --resume), or "interrupted"."""
    return str(exc).strip() or "interrupted"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``shuangta`` script: SimError becomes a clean message and exit status."""
    try:
        code = cli.main(args=argv, prog_name="shuangta", standalone_mode=False)
    except SimError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt (and our Interrupted) into Abort
        cause = exc.__cause__ or exc.__context__
        click.echo(_interrupted_text(cause) if isinstance(cause, KeyboardInterrupt) else "aborted", err=True)
        raise SystemExit(getattr(cause, "exit_code", 130)) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt as exc:
        click.echo(_interrupted_text(exc), err=True)
        raise SystemExit(getattr(exc, "exit_code", 130)) from None
    if isinstance(code, int) and code:
        raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
