"""The command line: ``shuangta COMMAND``. Thin: parse, call the library, say where results are.

Only the command line (this module, :mod:`sim.cli_analysis` and :mod:`sim.cli_base`) prints or chooses exit
codes; the library raises :class:`sim.errors.SimError` and its children. Here: running, checking, reporting
and the scenario files; :mod:`sim.cli_analysis` has the commands that ask questions of the model.
"""

from __future__ import annotations

import sys

import click

from sim import cli_analysis  # noqa: F401 (registers the analysis commands on the group)
from sim.cli_base import (check_output_paths, cli, force_option, print_notes, progress_line, scenario_model,
                          scenario_model_option)
from sim.cli_options import LibraryPath, Year, is_quiet
from sim.errors import SimError


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

    check_output_paths(Folder(out))
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

    check_output_paths(Folder(out_dir), model=False)
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
    print_notes(notes)
    for path in written:
        click.echo(str(path))


@cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=LibraryPath(dir_okay=True, path_type=str))
@scenario_model_option
def validate_command(files: tuple[str, ...], model_path: str | None) -> None:
    """Check scenario FILES: structure, then meaning against the model. Exit status 2 on any problem."""
    from sim.errors import ScenarioError
    from sim.specs.scenario import validate_files

    check_output_paths()
    ok, problems = validate_files(files, scenario_model(model_path))
    for path in ok:
        click.echo(f"ok  {path}")
    if problems:
        raise ScenarioError(problems)


@cli.command("diff")
@click.argument("a", type=LibraryPath(dir_okay=True, path_type=str))
@click.argument("b", type=LibraryPath(dir_okay=True, path_type=str))
@scenario_model_option
@click.option("--no-model", is_flag=True, help="Compare the files alone (a lever one side leaves out shows 'unset').")
def diff_command(a: str, b: str, model_path: str | None, no_model: bool) -> None:
    """Levers whose values differ between scenarios A and B, bases resolved: lever | A | B."""
    from sim.specs.scenario_text import diff_report

    check_output_paths(model=not no_model)
    click.echo(diff_report(a, b, None if no_model else scenario_model(model_path)))


@cli.command("schema")
@click.option("--out", "out_file", default=None, type=click.Path(path_type=str),
              help="Write to this file instead of standard output (an existing file only if it holds a schema).")
@force_option
def schema_command(out_file: str | None, force: bool) -> None:
    """The JSON Schema of scenario files, for editors (e.g. docs/scenario.schema.json)."""
    from sim.engine.outputs import File
    from sim.specs.scenario_text import is_json_schema, json_schema_text, write_json_schema

    if out_file:
        check_output_paths(File(out_file, force=force, same_kind=is_json_schema, what="scenario JSON Schema"),
                           model=False)
        click.echo(str(write_json_schema(out_file)))
    else:
        click.echo(json_schema_text(), nl=False)


@cli.command("levers")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
    help="Plain-text listing (long texts shortened), CSV or JSON (full text).",
)
@click.option("--all", "include_uncertain", is_flag=True, help="Add the uncertain parameters (with a kind column).")
@scenario_model_option
def levers_command(fmt: str, include_uncertain: bool, model_path: str | None) -> None:
    """The model's policy levers: name, units, range, default, description, Chinese term, source."""
    from sim.specs.scenario_text import format_levers, lever_rows

    check_output_paths()
    click.echo(format_levers(lever_rows(scenario_model(model_path), include_uncertain), fmt))


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
    check_output_paths()
    results = run_checks(model_path or DEFAULT_MODEL, data_path or REALITY_CHECKS, list(only) or None,
                         progress=progress_line)
    click.echo(format_checks(results))
    if not all(r.passed for r in results):
        ctx.exit(1)


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

    check_output_paths()
    from sim.engine.run import run_spec
    from sim.specs.scenario import load_scenario

    try:
        ns = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(f"{sizes!r} is not a comma-separated list of integers", param_hint="--sizes")
    model = load_model()
    spec = run_spec(model, load_scenario(scenario, model))
    click.echo(format_report(bench(model, spec, sizes=ns, pysd_runs=pysd_runs, ema_runs=ema_runs)))


@cli.command("report")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of headings, labels and charts (zh: Chinese; the page embeds its Chinese glyphs).")
@click.option("--out", "out", required=True, type=click.Path(path_type=str),
              help="The HTML file to write (one self-contained page); an existing file only if it is a report.")
@force_option
@scenario_model_option
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

    check_output_paths(File(out, force=force, same_kind=is_report, what="report"))
    report = build_report(list(folders), lang=lang, model_path=model_path)
    path = write_report(report, out)
    print_notes(report.notes)
    click.echo(f"{len(report.folders)} result folders ({', '.join(report.kinds())}) -> {path}")


@cli.command("diagram")
@click.option("--sector", "sectors", multiple=True, metavar="VIEW",
              help="A sector (Vensim group, e.g. Capital) to draw (repeatable) [default: every sector].")
@click.option("--out", "out", default="results/diagrams", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Folder for the SVG and PNG files.")
@click.option("--highlight", default=None, metavar="LOOPID",
              help="Draw this loop in red (alone, or inside the --sector diagrams); ids from `shuangta loops --list`.")
@click.option("--scenario", default=None, type=LibraryPath(path_type=str),
              help="Scenario whose run gives the links' polarities [default: the model's defaults].")
@scenario_model_option
def diagram_command(sectors: tuple[str, ...], out: str, highlight: str | None, scenario: str | None,
                    model_path: str | None) -> None:
    """Stock-and-flow diagrams of the model's sectors (stocks, flows, auxiliaries, links with polarity)."""
    from sim.present.diagram import draw_diagrams, label_font
    from sim.engine.outputs import Folder

    check_output_paths(Folder(out))
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
