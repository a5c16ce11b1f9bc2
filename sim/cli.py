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
    scatter plots in OUT/<folder name>/.
    """
    from pathlib import Path

    from sim.plots import plot_runs, plot_sweep
    from sim.sweep import is_sweep_folder

    sweeps = [f for f in folders if is_sweep_folder(f)]
    runs = [f for f in folders if f not in sweeps]
    if runs:
        for path in plot_runs(runs, out_dir):
            click.echo(str(path))
    for folder in sweeps:
        for path in plot_sweep(folder, Path(out_dir) / Path(folder).resolve().name):
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
    rate = result.runs / result.seconds if result.seconds > 0 else float("nan")
    skipped = f", {result.chunks_skipped} of {result.chunks} chunks already done" if result.chunks_skipped else ""
    click.echo(f"\n== sweep {result.name}: {result.runs} runs, {result.failed} failed, "
               f"{result.seconds:.1f} s ({rate:,.0f} runs/s){skipped}  ->  {result.folder}")
    click.echo(format_summary(result.summary))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``shuangta`` script: SimError becomes a clean message and exit status."""
    try:
        code = cli.main(args=argv, prog_name="shuangta", standalone_mode=False)
    except SimError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(130) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None
    if isinstance(code, int) and code:
        raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
