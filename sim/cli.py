"""The command line: ``shuangta COMMAND``. Thin: parse, call the library, say where results are.

Only this module prints or chooses exit codes; the library raises
:class:`sim.errors.SimError` and its children.
"""

from __future__ import annotations

import logging
import sys

import click

from sim import __version__
from sim.cli_options import QUIET_HELP, VERBOSE_HELP, Command, LibraryPath, Year, is_quiet, verbosity
from sim.errors import SimError

class _Group(click.Group):
    """The command group: a :class:`SimError` from any command becomes ``error: ...`` and its exit status."""

    command_class = Command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SimError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # passed the output checks, so a fault of the system (disk full, lost mount)
            if exc.filename is None:
                raise
            click.echo(f"error: {exc.filename}: {exc.strerror or exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shuangta")
@click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=verbosity, help=QUIET_HELP)
@click.option("-v", "--verbose", count=True, expose_value=False, callback=verbosity, help=VERBOSE_HELP)
def cli() -> None:
    """System-dynamics model of Shuangta District's 14th Five-Year Plan.

    -q and -v may stand before or after the command name.
    """


def _check_outputs(*specs, model: bool = True) -> None:
    """Check every output location of a command before it does any work (see :mod:`sim.engine.outputs`); with
    ``model``, also the translation cache the model is loaded through."""
    from sim.engine.outputs import check_cache, check_outputs

    check_outputs(*specs)
    if model:
        check_cache()


_force_option = click.option("--force", is_flag=True,
                             help="Replace an existing file that is not one this command wrote.")


# Commands are defined below, one short function each. Add a command by
# inserting its function; keep library work in the library.


@cli.command("run")
@click.argument("scenarios", nargs=-1, required=True, type=LibraryPath())
@click.option("--out", "out", default="results", show_default=True, type=click.Path(path_type=str),
              help="Folder that receives one result folder per scenario.")
@click.option("--final-time", type=Year(min=2021, max=2100), default=None,
              help="Last year simulated, a whole year (default: the scenario's, else the model's).")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False), help="Another .mdl file.")
def run_command(scenarios: tuple[str, ...], out: str, final_time: int | None, model_path: str | None) -> None:
    """Run SCENARIOS (TOML files, or names in the scenario library such as `plan`), write results and print
    the plan's target verdicts."""
    from sim.engine.outputs import Folder
    from sim.engine.run import run_scenarios
    from sim.plan.targets import format_verdicts

    _check_outputs(Folder(out))
    results = run_scenarios(list(scenarios), out=out, final_time=final_time, model_path=model_path)
    for r in results:
        click.echo(f"\n== {r.name}" if is_quiet() else f"\n== {r.name}  ({r.seconds * 1000:.0f} ms)  ->  {r.folder}")
        click.echo(format_verdicts(r.verdicts))


@cli.command("targets")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
    help="Plain-text listing, CSV or JSON.",
)
def targets_command(fmt: str) -> None:
    """List the plan's targets with their arithmetic and whether the model can evaluate them."""
    from sim.plan.targets import format_targets, load_targets, targets_frame, targets_json

    targets = load_targets()
    if fmt == "table":
        click.echo(format_targets(targets))
    elif fmt == "csv":
        click.echo(targets_frame(targets).to_csv(index=False), nl=False)
    else:
        click.echo(targets_json(targets))


@cli.command("plot")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--out", "out_dir", default="results/plots", show_default=True, type=click.Path(path_type=str),
    help="Folder for the PNGs.",
)
def plot_command(folders: tuple[str, ...], out_dir: str) -> None:
    """Plot result folders (FOLDERS written by `run`): key variables, thresholds, verdict grid.

    A sweep folder (written by `sweep`) gets fan charts, target distributions and
    scatter plots in OUT/<folder name>/; a sensitivity folder (written by
    `sensitivity`) gets index bars, Morris plots, an ST heat map and tornado charts.
    A folder holding result folders (results/, or results/*) plots those; other
    files and folders are skipped with a note. Prints the PNGs written.
    """
    from pathlib import Path

    from sim.engine.folders import collect_folders
    from sim.engine.outputs import Folder
    from sim.present.plots import plot_runs
    from sim.present.plots_sensitivity import plot_sensitivity
    from sim.present.plots_sweep import plot_sweep

    _check_outputs(Folder(out_dir), model=False)
    notes: list[str] = []
    found = collect_folders(folders, notes)
    runs = [f.path for f in found if f.kind not in ("sweep", "sensitivity") and (f.path / "timeseries.csv").is_file()]
    notes += [f"skipped {f.path}: a {f.kind} folder; `shuangta report` shows it" for f in found
              if f.kind not in ("sweep", "sensitivity") and f.path not in runs]
    written = plot_runs(runs, out_dir) if runs else []
    for f in found:
        if f.kind in ("sweep", "sensitivity"):
            draw = plot_sweep if f.kind == "sweep" else plot_sensitivity
            written += draw(f.path, Path(out_dir) / f.path.resolve().name)
    _notes(notes)
    for path in written:
        click.echo(str(path))


def _notes(notes: list[str]) -> None:
    """Print ``note: ...`` lines on stderr unless -q."""
    if not is_quiet():
        for note in notes:
            click.echo(f"note: {note}", err=True)


# --- scenario files (sim.specs.scenario): validate, diff, schema, levers ---------

_scenario_model_option = click.option(
    "--model", "model_path", default=None, type=click.Path(dir_okay=False, path_type=str),
    help="Vensim model to check against [default: model/shuangta.mdl].",
)


def _scenario_model(model_path: str | None):
    """The model at ``--model``, or the project's model."""
    from sim.model.loader import DEFAULT_MODEL, load_model

    return load_model(model_path or DEFAULT_MODEL)


@cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=LibraryPath(dir_okay=True, path_type=str))
@_scenario_model_option
def validate_command(files: tuple[str, ...], model_path: str | None) -> None:
    """Check scenario FILES: structure, then meaning against the model. Exit status 2 on any problem."""
    from sim.errors import ScenarioError
    from sim.specs.scenario import validate_files

    _check_outputs()
    ok, problems = validate_files(files, _scenario_model(model_path))
    for path in ok:
        click.echo(f"ok  {path}")
    if problems:
        raise ScenarioError(problems)


@cli.command("diff")
@click.argument("a", type=LibraryPath(dir_okay=True, path_type=str))
@click.argument("b", type=LibraryPath(dir_okay=True, path_type=str))
@_scenario_model_option
@click.option("--no-model", is_flag=True, help="Compare the files alone (a lever one side leaves out shows 'unset').")
def diff_command(a: str, b: str, model_path: str | None, no_model: bool) -> None:
    """Levers whose values differ between scenarios A and B, bases resolved: lever | A | B."""
    from sim.specs.scenario_text import diff_report

    _check_outputs(model=not no_model)
    click.echo(diff_report(a, b, None if no_model else _scenario_model(model_path)))


@cli.command("schema")
@click.option("--out", "out_file", default=None, type=click.Path(path_type=str),
              help="Write to this file instead of standard output (an existing file only if it holds a schema).")
@_force_option
def schema_command(out_file: str | None, force: bool) -> None:
    """The JSON Schema of scenario files, for editors (e.g. docs/scenario.schema.json)."""
    from sim.engine.outputs import File
    from sim.specs.scenario_text import is_json_schema, json_schema_text, write_json_schema

    if out_file:
        _check_outputs(File(out_file, force=force, same_kind=is_json_schema, what="scenario JSON Schema"), model=False)
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
    from sim.specs.scenario_text import format_levers, lever_rows

    _check_outputs()
    click.echo(format_levers(lever_rows(_scenario_model(model_path), include_uncertain), fmt))


@cli.command("sweep")
@click.argument("spec", type=LibraryPath("sweeps", path_type=str))
@click.option("--out", "out", default=None, type=click.Path(path_type=str),
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
    from sim.engine.outputs import Folder
    from sim.engine.sweep import DEFAULT_OUT, run_sweep
    from sim.engine.sweep_folder import format_summary

    _check_outputs(Folder(out or DEFAULT_OUT))
    quiet = is_quiet()

    def bar(total: int, done: int):
        from tqdm import tqdm

        return tqdm(total=total, initial=done, unit="run", unit_scale=True, dynamic_ncols=True, smoothing=0.1,
                    desc="sweep", file=sys.stderr)

    result = run_sweep(spec, out, model_path=model_path, workers=workers, scheduler=scheduler, resume=resume,
                       chunk_size=chunk_size, progress=None if quiet else bar, command=sys.argv)
    if quiet:
        click.echo(format_summary(result.summary))
        return
    rate = result.evaluated / result.seconds if result.seconds > 0 else float("nan")
    done = f", {result.chunks_skipped} of {result.chunks} chunks done before" if result.chunks_skipped else ""
    click.echo(f"\n== sweep {result.name}: {result.runs} runs, {result.failed} failed; {result.evaluated} runs "
               f"evaluated in {result.seconds:.1f} s ({rate:,.0f} runs/s){done}  ->  {result.folder}")
    click.echo(format_summary(result.summary))


@cli.command("calibrate")
@click.argument("spec", type=LibraryPath("calibration", exists=True, path_type=str))
@click.option("--out", "out", default="results/calibration", show_default=True, type=click.Path(path_type=str),
              help="Folder that receives one result folder named after the spec.")
@click.option("--apply", "apply_", is_flag=True,
              help="Also write the fitted values as the model's calibrated defaults (see --to).")
@click.option("--to", "apply_to", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="Calibration file --apply writes [default: model/data/calibration.csv of the checkout, "
                   "or next to --model; required for an installed package].")
@click.option("--starts", type=click.IntRange(min=1), default=None, help="Optimiser starts (default: the spec's).")
@click.option("--profile-points", type=click.IntRange(min=0), default=None,
              help="Grid points of each profile (default: the spec's; 0 or 1: no profiles).")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False), help="Another .mdl file.")
def calibrate_command(spec: str, out: str, apply_: bool, apply_to: str | None, starts: int | None,
                      profile_points: int | None, model_path: str | None) -> None:
    """Fit the free quantities of calibration SPEC (TOML) to history; write values, fit statistics and a plot."""
    from sim.analysis.calibrate import apply_calibration, calibrate, format_result, write_calibration
    from sim.model.loader import DEFAULT_MODEL
    from sim.engine.outputs import File, Folder
    from sim.resources import calibration_target

    model = model_path or DEFAULT_MODEL
    target = calibration_target(apply_to, model_path) if apply_ else None
    calibration = File(target, "--to" if apply_to else "--apply", force=True, what="calibration file") if apply_ else None
    _check_outputs(Folder(out), calibration)
    result = calibrate(spec, model, starts=starts, profile_points=profile_points, progress=_progress_line,
                       steps=_stage_progress(is_quiet()))
    folder = write_calibration(result, out)
    click.echo(format_result(result))
    if not is_quiet():
        click.echo(f"\nwritten to {folder}")
    if apply_:
        written = apply_calibration(result, target)
        if not is_quiet():
            click.echo(f"calibrated defaults written to {written}")


@cli.command("hindcast")
@click.argument("scenario", required=False, type=LibraryPath(exists=True, path_type=str))
@click.option("--out", "out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Folder that receives hindcast_<scenario>/ (table, band, plots, manifest).")
@click.option("--members", type=click.IntRange(min=2), default=None,
              help="Runs in the band over the unidentified parameters [default: 64].")
@click.option("--seed", type=int, default=None, help="Seed of the band's Latin hypercube.")
@click.option("--history", "history_path", default=None, type=click.Path(dir_okay=False, exists=True),
              help="History file [default: model/data/history.csv].")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False), help="Another .mdl file.")
def hindcast_command(scenario: str | None, out: str, members: int | None, seed: int | None,
                     history_path: str | None, model_path: str | None) -> None:
    """Run what happened in 2021-2025 (SCENARIO, default scenarios/actual_2021_2025.toml) with the
    calibration of data up to 2020; compare every out-of-sample figure with the model and its band."""
    from sim.analysis.hindcast import ACTUAL_SCENARIO, MEMBERS, SEED, format_hindcast, hindcast, write_hindcast
    from sim.plan.history import HISTORY_FILE
    from sim.model.loader import DEFAULT_MODEL

    from sim.engine.outputs import Folder

    _check_outputs(Folder(out))
    model = model_path or DEFAULT_MODEL
    history = history_path or HISTORY_FILE
    result = hindcast(scenario or ACTUAL_SCENARIO, model, history, members=members or MEMBERS,
                      seed=SEED if seed is None else seed)
    folder = write_hindcast(result, out, model, history=history)
    click.echo(format_hindcast(result))
    if not is_quiet():
        click.echo(f"\nwritten to {folder}")


@cli.command("check")
@click.option("--only", "only", multiple=True,
              type=click.Choice(["dimensions", "extremes", "extremes-uncertain", "integration", "conservation",
                                 "behaviour", "reality", "structure", "lever-box"]),
              help="Run only this test (repeatable).")
@click.option("--data", "data_path", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Validation data [default: model/data/reality_checks.toml].")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False), help="Another .mdl file.")
@click.pass_context
def check_command(ctx: click.Context, only: tuple[str, ...], data_path: str | None, model_path: str | None) -> None:
    """Run the validation suite; print each test's result with its figures. Exit status 1 if any test fails."""
    from sim.analysis.checks import REALITY_CHECKS
    from sim.analysis.suite import format_checks, run_checks
    from sim.model.loader import DEFAULT_MODEL
    from sim.model.files import require_model_file

    require_model_file(model_path or DEFAULT_MODEL)
    _check_outputs()
    results = run_checks(model_path or DEFAULT_MODEL, data_path or REALITY_CHECKS, list(only) or None,
                         progress=_progress_line)
    click.echo(format_checks(results))
    if not all(r.passed for r in results):
        ctx.exit(1)


# --- what would it take: reach and consistency (sim.analysis.reach, sim.analysis.consistency) ---


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


def _progress_line(text: str) -> None:
    """A ``progress(text)`` callback: one line on stderr per step (logger ``sim.progress``; hidden by -q)."""
    logging.getLogger("sim.progress").info(text)


def _scenario_output(path: str | None, force: bool, command: str):
    """The output spec of --write-scenario of ``command`` (None when not given): an existing file is replaced
    only when that command wrote it, or with --force."""
    from sim.engine.outputs import File, generated_by

    if path is None:
        return None
    return File(path, "--write-scenario", force=force, same_kind=generated_by(command),
                what=f"scenario file written by `shuangta {command}`")


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
@click.option("--out", "out", default=None, type=click.Path(path_type=str),
              help="Result folder [default: results/reach/<targets joined by _>].")
@click.option("--write-scenario", "scenario_file", default=None, type=click.Path(path_type=str),
              help="Also write the found lever values as a runnable scenario file (.toml).")
@_force_option
@click.option("--samples", type=click.IntRange(min=1), default=2048, show_default=True,
              help="Latin-hypercube points that pick the starts.")
@click.option("--starts", type=click.IntRange(min=1), default=6, show_default=True, help="Local searches.")
@_scenario_model_option
def reach_command(targets: tuple[str, ...], levers: tuple[str, ...], base: str | None, seed: int,
                  out: str | None, scenario_file: str | None, force: bool, samples: int, starts: int,
                  model_path: str | None) -> None:
    """The smallest change to the levers that meets TARGETS (ids such as T1 T7) in 2025.

    Distance is measured in units of each lever's range. Prints the needed lever
    values against the 2016-2020 record and the plan, and every target's verdict
    at the found point; writes reach.json, reach.csv, targets.csv, timeseries.csv.
    """
    from sim.engine.outputs import Folder
    from sim.analysis.reach import check_scenario_path, reach
    from sim.analysis.reach_output import default_out, format_reach, write_reach, write_reach_scenario

    if scenario_file is not None:
        check_scenario_path(scenario_file, base)
    _check_outputs(Folder(out or default_out(targets), result=True), _scenario_output(scenario_file, force, "reach"))
    quiet = is_quiet()
    result = reach(_scenario_model(model_path), list(targets), list(levers) or None, base, seed=seed, samples=samples,
                   starts=starts, progress=_stage_progress(quiet))
    folder = write_reach(result, out or default_out(result.targets), sys.argv)
    written = write_reach_scenario(result, scenario_file, sys.argv) if scenario_file else None
    click.echo(format_reach(result))
    if not quiet:
        click.echo(f"\n{result.seconds:.1f} s, {result.members:,} runs  ->  {folder}")
        if written:
            click.echo(f"scenario written to {written}")


@cli.command("consistency")
@_with_search_options
@click.option("--out", "out", default="results/consistency", show_default=True,
              type=click.Path(path_type=str), help="Result folder.")
@click.option("--samples", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Latin-hypercube points that pick the starts.")
@click.option("--starts", type=click.IntRange(min=1), default=3, show_default=True, help="Local searches per target set.")
@_scenario_model_option
def consistency_command(levers: tuple[str, ...], base: str | None, seed: int, out: str,
                        samples: int, starts: int, model_path: str | None) -> None:
    """Which of the plan's targets can be met together inside the lever ranges: every pair and the full set.

    Writes matrix.csv, min_gap_matrix.csv, matrix.png (green feasible, red not),
    section4.csv and consistency.json; prints the summary and the check of each
    contradiction listed in docs/plan.md §4.
    """
    from sim.analysis.consistency import check_consistency, format_consistency, write_consistency
    from sim.engine.outputs import Folder

    _check_outputs(Folder(out, result=True))
    quiet = is_quiet()
    result = check_consistency(_scenario_model(model_path), list(levers) or None, base, seed=seed, samples=samples,
                               starts=starts, progress=_stage_progress(quiet))
    folder = write_consistency(result, out, sys.argv)
    click.echo(format_consistency(result))
    if not quiet:
        click.echo(f"\n{result.seconds:.1f} s, {result.members:,} runs  ->  {folder}")


@cli.command("bench")
@click.option("--scenario", default="plan", show_default=True, type=LibraryPath(),
              help="Base scenario the members vary around.")
@click.option("--sizes", default="1,100,10000,100000", show_default=True, help="Ensemble sizes N, comma-separated.")
@click.option("--pysd-runs", default=20, show_default=True, type=click.IntRange(min=1), help="Plain PySD runs timed.")
@click.option("--ema-runs", default=10, show_default=True, type=click.IntRange(min=0),
              help="EMA Workbench connector runs timed (if installed; 0 skips).")
def bench_command(scenario: str, sizes: str, pysd_runs: int, ema_runs: int) -> None:
    """Measure runs/s of plain PySD, EMA Workbench's connector and the ensemble runner."""
    from sim.engine.bench import bench, format_report
    from sim.model.loader import load_model

    _check_outputs()
    from sim.engine.run import run_spec
    from sim.specs.scenario import load_scenario

    try:
        ns = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(f"{sizes!r} is not a comma-separated list of integers", param_hint="--sizes")
    model = load_model()
    spec = run_spec(model, load_scenario(scenario, model))
    click.echo(format_report(bench(model, spec, sizes=ns, pysd_runs=pysd_runs, ema_runs=ema_runs)))


# --- scenario discovery and the planners' report (sim.analysis.discovery, sim.present.report) ---


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
@click.option("--out", "out", default=None, type=click.Path(path_type=str),
              help="Result folder [default: results/discovery/<sweep>_<targets>].")
@click.option("--write-scenario", "scenario_file", default=None, type=click.Path(path_type=str),
              help="Also write the chosen box as a runnable scenario file (.toml).")
@_force_option
@_scenario_model_option
def discover_command(args: tuple[str, ...], targets: tuple[str, ...], threshold: float, box: int | None,
                     top: float | None, out: str | None, scenario_file: str | None, force: bool,
                     model_path: str | None) -> None:
    """PRIM scenario discovery on a sweep folder: the boxes of factor values in which TARGETS are all met.

    When no run meets them all, the cases are the top decile of runs by the
    worst normalised gap, and the output says so. Writes trajectory.csv (the
    peeling trajectory), boxes.csv, box.csv (the chosen box with quasi-p-values),
    tradeoff.png, box.png and discovery.json. Needs EMA Workbench
    (pip install -e '.[discovery]').
    """
    from pathlib import Path

    from sim.analysis.discovery import discover
    from sim.analysis.discovery_output import default_out, format_discovery, write_discovery
    from sim.analysis.prim import load_prim
    from sim.plan.targets import headline_ids
    from sim.analysis.discovery_output import write_discovery_scenario
    from sim.errors import InputError

    folders = [a for a in args if Path(a).is_dir()]
    extra = [a for a in args if a not in folders]
    if len(folders) != 1:
        what = "no folder" if not folders else f"{len(folders)} folders ({', '.join(folders)})"
        missing = f"; not a folder: {', '.join(extra)}" if extra else ""
        raise InputError(f"give exactly one sweep folder, got {what}{missing}")
    if extra and not targets:
        raise InputError(f"unexpected argument {' '.join(extra)}: target ids follow --targets (e.g. --targets T1 T7)")
    ids = [t.strip() for part in (*targets, *extra) for t in part.split(",") if t.strip()] or list(headline_ids())
    load_prim()
    if scenario_file is not None:
        from sim.analysis.reach import check_scenario_path

        check_scenario_path(scenario_file)
    from sim.engine.outputs import Folder

    _check_outputs(Folder(out or default_out(Path(folders[0]).resolve().name, ids), result=True),
                   _scenario_output(scenario_file, force, "discover"))
    model = _scenario_model(model_path)
    result = discover(folders[0], ids, threshold=threshold, box=box, top=top, model=model)
    folder = write_discovery(result, out or default_out(result), sys.argv)
    written = write_discovery_scenario(result, scenario_file, model, sys.argv) if scenario_file else None
    click.echo(format_discovery(result))
    if not is_quiet():
        click.echo(f"\n{result.seconds:.1f} s  ->  {folder}")
        if written:
            click.echo(f"scenario written to {written}")


@cli.command("report")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of headings, labels and charts (zh: Chinese; the page embeds its Chinese glyphs).")
@click.option("--out", "out", required=True, type=click.Path(path_type=str),
              help="The HTML file to write (one self-contained page); an existing file only if it is a report.")
@_force_option
@_scenario_model_option
def report_command(folders: tuple[str, ...], lang: str, out: str, force: bool, model_path: str | None) -> None:
    """One self-contained HTML page for planners from result FOLDERS of any kind.

    Scenario runs, sweeps, sensitivity, reach, consistency and discovery
    folders (or folders holding them, e.g. results/) are read, never
    re-simulated; charts are drawn from their data and embedded. The page
    opens with answers to the headline questions and ends with the
    assumptions (lever catalogue) and the targets' arithmetic.
    """
    from sim.engine.outputs import File
    from sim.present.report import build_report, is_report, write_report

    _check_outputs(File(out, force=force, same_kind=is_report, what="report"))
    report = build_report(list(folders), lang=lang, model_path=model_path)
    path = write_report(report, out)
    _notes(report.notes)
    click.echo(f"{len(report.folders)} result folders ({', '.join(report.kinds())}) -> {path}")


@cli.command("sensitivity")
@click.argument("spec", type=LibraryPath("sensitivity", path_type=str))
@click.option("--method", type=click.Choice(["sobol", "morris", "fast"]), default=None,
              help="SALib method [default: the spec's, else sobol].")
@click.option("--n", "n", type=click.IntRange(min=1), default=None,
              help="Sample size: Sobol' base N (a power of 2; runs N(D+2)), Morris trajectories (runs N(D+1)), "
                   "FAST points per factor (runs N D) [default: the spec's].")
@click.option("--out", "out", default=None, type=click.Path(path_type=str),
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
    from sim.engine.outputs import Folder
    from sim.analysis.sensitivity import DEFAULT_OUT, format_indices, format_warnings, run_sensitivity

    _check_outputs(Folder(out or DEFAULT_OUT))
    quiet = is_quiet()

    def bar(total: int, done: int):
        from tqdm import tqdm

        return tqdm(total=total, initial=done, unit="run", unit_scale=True, dynamic_ncols=True, smoothing=0.1,
                    desc="sensitivity", file=sys.stderr)

    result = run_sensitivity(spec, out, model_path=model_path, method=method, n=n, second_order=second_order,
                             time_resolved=time_resolved, workers=workers, scheduler=scheduler, resume=resume,
                             chunk_size=chunk_size, progress=None if quiet else bar, command=sys.argv)
    if quiet:
        click.echo(format_indices(result))
        return
    click.echo(f"\n== sensitivity {result.name}: {result.method}, N = {result.n:,}, {len(result.factors)} factors, "
               f"{result.runs:,} runs ({result.failed} failed); runs {result.run_seconds:.1f} s, analysis "
               f"{result.analysis_seconds:.1f} s  ->  {result.folder}\n")
    click.echo(format_indices(result))
    warnings = format_warnings(result)
    if warnings:
        click.echo("\nwarnings:\n" + warnings)


@cli.command("loops")
@click.argument("scenario", required=False, type=LibraryPath(path_type=str))
@click.option("--variable", "variables", multiple=True, metavar="NAME",
              help="Variable whose driving loops are explained (repeatable) [default: the T1 and T7 variables].")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Loops folder [default: results/loops/<scenario name>].")
@click.option("--list", "list_", is_flag=True, help="Print the loops (id, polarity, strength, path); write nothing.")
@click.option("--all", "show_all", is_flag=True, help="With --list: every loop, not the strongest 40.")
@click.option("--check", is_flag=True,
              help="Check the loop table of the model's README.md; write nothing; exit status 1 if a row fails.")
@click.option("--max-loops", type=click.IntRange(min=1), default=None,
              help="Loops enumerated before the strongest-path search takes over [default: 2000].")
@_scenario_model_option
def loops_command(scenario: str | None, variables: tuple[str, ...], out: str | None, list_: bool, show_all: bool,
                  check: bool, max_loops: int | None, model_path: str | None) -> None:
    """Feedback loops of the model and which of them dominate along a run of SCENARIO (Loops That Matter).

    Without SCENARIO the model's defaults are run. Writes loop scores, relative
    scores, a dominance plot and text per variable to a loops folder.
    """
    from sim.analysis.loop_results import format_loops, run_loops
    from sim.analysis.loops import scenario_analysis
    from sim.analysis.loops import MAX_LOOPS

    max_loops = max_loops or MAX_LOOPS
    if list_ or check:
        model, _, analysis = scenario_analysis(scenario, model_path, max_loops)
        if list_:
            click.echo(format_loops(analysis, None if show_all else 40))
        if check:
            from sim.analysis.loop_results import documented_check

            table = documented_check(analysis, model.path)
            if table is None:
                raise SimError(f"{model.path.parent / 'README.md'}: no 'Feedback loops' table to check")
            for r in table.itertuples():
                click.echo(f"{'pass' if r.passed else 'FAIL'}  {r.row} {r.name} ({r.documented}): "
                           f"{r.loop or '-'} {r.reason}")
            if not table["passed"].all():
                click.get_current_context().exit(1)
        return
    from sim.engine.outputs import Folder

    _check_outputs(Folder(out or "results/loops"))
    result = run_loops(scenario, out, list(variables), model_path, max_loops, command=sys.argv)
    if not is_quiet():
        a = result.analysis
        click.echo(f"{len(a.loops)} loops ({a.method}), analysis {result.seconds:.1f} s  ->  {result.folder}")
        click.echo((result.folder / "dominance.md").read_text(encoding="utf-8"))


@cli.command("diagram")
@click.option("--sector", "sectors", multiple=True, metavar="VIEW",
              help="A sector (Vensim group, e.g. Capital) to draw (repeatable) [default: every sector].")
@click.option("--out", "out", default="results/diagrams", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Folder for the SVG and PNG files.")
@click.option("--highlight", default=None, metavar="LOOPID",
              help="Draw this loop in red (alone, or inside the --sector diagrams); ids from `shuangta loops --list`.")
@click.option("--scenario", default=None, type=LibraryPath(path_type=str),
              help="Scenario whose run gives the links' polarities [default: the model's defaults].")
@_scenario_model_option
def diagram_command(sectors: tuple[str, ...], out: str, highlight: str | None, scenario: str | None,
                    model_path: str | None) -> None:
    """Stock-and-flow diagrams of the model's sectors (stocks, flows, auxiliaries, links with polarity)."""
    from sim.present.diagram import draw_diagrams, label_font
    from sim.engine.outputs import Folder

    _check_outputs(Folder(out))
    written = draw_diagrams(out, list(sectors), highlight, scenario, model_path)
    if not is_quiet():
        note = label_font()[1]
        if note:
            click.echo(f"note: {note}")
        click.echo(f"{len(written)} files -> {out}")
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
