"""The commands that ask questions of the model: sweeps and sensitivity, calibration and hindcast, what would
it take (reach, consistency, discovery) and loops. Registered on the group of :mod:`sim.cli_base`.
"""

from __future__ import annotations

import sys

import click

from sim.cli_options import LibraryPath, is_quiet
from sim.cli_base import (check_output_paths, cli, force_option, progress_line, scenario_model, scenario_model_option,
                          run_bar, scenario_output, stage_progress, with_search_options)
from sim.errors import SimError


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
@scenario_model_option
def sweep_command(spec: str, out: str | None, workers: int | None, scheduler: str | None, resume: bool,
                  chunk_size: int | None, model_path: str | None) -> None:
    """Run the sweep file SPEC: many runs over sampled or gridded levers, with target probabilities."""
    from sim.engine.outputs import Folder
    from sim.engine.sweep import DEFAULT_OUT, run_sweep
    from sim.engine.sweep_folder import format_summary

    check_output_paths(Folder(out or DEFAULT_OUT))
    quiet = is_quiet()

    bar = run_bar("sweep")
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
    check_output_paths(Folder(out), calibration)
    result = calibrate(spec, model, starts=starts, profile_points=profile_points, progress=progress_line,
                       steps=stage_progress(is_quiet()))
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

    check_output_paths(Folder(out))
    model = model_path or DEFAULT_MODEL
    history = history_path or HISTORY_FILE
    result = hindcast(scenario or ACTUAL_SCENARIO, model, history, members=members or MEMBERS,
                      seed=SEED if seed is None else seed)
    folder = write_hindcast(result, out, model, history=history)
    click.echo(format_hindcast(result))
    if not is_quiet():
        click.echo(f"\nwritten to {folder}")


@cli.command("reach")
@click.argument("targets", nargs=-1, required=True)
@with_search_options
@click.option("--out", "out", default=None, type=click.Path(path_type=str),
              help="Result folder [default: results/reach/<targets joined by _>].")
@click.option("--write-scenario", "scenario_file", default=None, type=click.Path(path_type=str),
              help="Also write the found lever values as a runnable scenario file (.toml).")
@force_option
@click.option("--samples", type=click.IntRange(min=1), default=2048, show_default=True,
              help="Latin-hypercube points that pick the starts.")
@click.option("--starts", type=click.IntRange(min=1), default=6, show_default=True, help="Local searches.")
@scenario_model_option
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
    check_output_paths(Folder(out or default_out(targets), result=True), scenario_output(scenario_file, force, "reach"))
    quiet = is_quiet()
    result = reach(scenario_model(model_path), list(targets), list(levers) or None, base, seed=seed, samples=samples,
                   starts=starts, progress=stage_progress(quiet))
    folder = write_reach(result, out or default_out(result.targets), sys.argv)
    written = write_reach_scenario(result, scenario_file, sys.argv) if scenario_file else None
    click.echo(format_reach(result))
    if not quiet:
        click.echo(f"\n{result.seconds:.1f} s, {result.members:,} runs  ->  {folder}")
        if written:
            click.echo(f"scenario written to {written}")


@cli.command("consistency")
@with_search_options
@click.option("--out", "out", default="results/consistency", show_default=True,
              type=click.Path(path_type=str), help="Result folder.")
@click.option("--samples", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Latin-hypercube points that pick the starts.")
@click.option("--starts", type=click.IntRange(min=1), default=3, show_default=True, help="Local searches per target set.")
@scenario_model_option
def consistency_command(levers: tuple[str, ...], base: str | None, seed: int, out: str,
                        samples: int, starts: int, model_path: str | None) -> None:
    """Which of the plan's targets can be met together inside the lever ranges: every pair and the full set.

    Writes matrix.csv, min_gap_matrix.csv, matrix.png (green feasible, red not),
    section4.csv and consistency.json; prints the summary and the check of each
    contradiction listed in docs/plan.md §4.
    """
    from sim.analysis.consistency import check_consistency, format_consistency, write_consistency
    from sim.engine.outputs import Folder

    check_output_paths(Folder(out, result=True))
    quiet = is_quiet()
    result = check_consistency(scenario_model(model_path), list(levers) or None, base, seed=seed, samples=samples,
                               starts=starts, progress=stage_progress(quiet))
    folder = write_consistency(result, out, sys.argv)
    click.echo(format_consistency(result))
    if not quiet:
        click.echo(f"\n{result.seconds:.1f} s, {result.members:,} runs  ->  {folder}")




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
@force_option
@scenario_model_option
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

    check_output_paths(Folder(out or default_out(Path(folders[0]).resolve().name, ids), result=True),
                   scenario_output(scenario_file, force, "discover"))
    model = scenario_model(model_path)
    result = discover(folders[0], ids, threshold=threshold, box=box, top=top, model=model)
    folder = write_discovery(result, out or default_out(result), sys.argv)
    written = write_discovery_scenario(result, scenario_file, model, sys.argv) if scenario_file else None
    click.echo(format_discovery(result))
    if not is_quiet():
        click.echo(f"\n{result.seconds:.1f} s  ->  {folder}")
        if written:
            click.echo(f"scenario written to {written}")


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
@scenario_model_option
def sensitivity_command(spec: str, method: str | None, n: int | None, out: str | None, workers: int | None,
                        scheduler: str | None, resume: bool, second_order: bool | None, time_resolved: bool | None,
                        chunk_size: int | None, model_path: str | None) -> None:
    """Global sensitivity analysis of SPEC (scenarios/sensitivity/*.toml): SALib's Sobol', Morris or FAST indices."""
    from sim.engine.outputs import Folder
    from sim.analysis.sensitivity import DEFAULT_OUT, format_indices, format_warnings, run_sensitivity

    check_output_paths(Folder(out or DEFAULT_OUT))
    quiet = is_quiet()

    bar = run_bar("sensitivity")
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
@scenario_model_option
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

    check_output_paths(Folder(out or "results/loops"))
    result = run_loops(scenario, out, list(variables), model_path, max_loops, command=sys.argv)
    if not is_quiet():
        a = result.analysis
        click.echo(f"{len(a.loops)} loops ({a.method}), analysis {result.seconds:.1f} s  ->  {result.folder}")
        click.echo((result.folder / "dominance.md").read_text(encoding="utf-8"))
