"""What the commands of ``shuangta`` share: the group, output checks before any work, progress lines, and
the options several commands take (``--force``, ``--model``, the lever search).

Commands are in :mod:`sim.cli` (running, checking, reporting) and :mod:`sim.cli_analysis` (ensembles,
calibration, what would it take, loops). Only these modules print or choose exit codes.
"""

from __future__ import annotations

import logging
import sys

import click

from sim import __version__
from sim.cli_options import QUIET_HELP, VERBOSE_HELP, Command, is_quiet, verbosity
from sim.errors import SimError


class Group(click.Group):
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


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shuangta")
@click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=verbosity, help=QUIET_HELP)
@click.option("-v", "--verbose", count=True, expose_value=False, callback=verbosity, help=VERBOSE_HELP)
def cli() -> None:
    """System-dynamics model of Shuangta District's 14th Five-Year Plan.

    -q and -v may stand before or after the command name.
    """


def check_output_paths(*specs, model: bool = True) -> None:
    """Check every output location of a command before it does any work (see :mod:`sim.engine.outputs`); with
    ``model``, also the translation cache the model is loaded through."""
    from sim.engine.outputs import check_cache, check_outputs

    check_outputs(*specs)
    if model:
        check_cache()


force_option = click.option("--force", is_flag=True,
                             help="Replace an existing file that is not one this command wrote.")


def print_notes(notes: list[str]) -> None:
    """Print ``note: ...`` lines on stderr unless -q."""
    if not is_quiet():
        for note in notes:
            click.echo(f"note: {note}", err=True)



scenario_model_option = click.option(
    "--model", "model_path", default=None, type=click.Path(dir_okay=False, path_type=str),
    help="Vensim model to check against [default: model/shuangta.mdl].",
)


def scenario_model(model_path: str | None):
    """The model at ``--model``, or the project's model."""
    from sim.model.loader import DEFAULT_MODEL, load_model

    return load_model(model_path or DEFAULT_MODEL)




def stage_progress(quiet: bool):
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


def progress_line(text: str) -> None:
    """A ``progress(text)`` callback: one line on stderr per step (logger ``sim.progress``; hidden by -q)."""
    logging.getLogger("sim.progress").info(text)


def scenario_output(path: str | None, force: bool, command: str):
    """The output spec of --write-scenario of ``command`` (None when not given): an existing file is replaced
    only when that command wrote it, or with --force."""
    from sim.engine.outputs import File, generated_by

    if path is None:
        return None
    return File(path, "--write-scenario", force=force, same_kind=generated_by(command),
                what=f"scenario file written by `shuangta {command}`")


SEARCH_OPTIONS = [
    click.option("--levers", "levers", multiple=True, metavar="NAME",
                 help="A lever to search (repeat the option, or separate names by commas) [default: every LEVER]."),
    click.option("--base", "base", default=None, metavar="SCENARIO",
                 help="Base scenario: a file, or a name in scenarios/ [default: scenarios/plan.toml]."),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Latin-hypercube starts."),
]


def with_search_options(fn):
    for option in reversed(SEARCH_OPTIONS):
        fn = option(fn)
    return fn


def run_bar(desc: str):
    """A ``progress(total, done)`` callback of ensembles: one tqdm bar of runs on stderr, resumed at ``done``."""

    def bar(total: int, done: int):
        from tqdm import tqdm

        return tqdm(total=total, initial=done, unit="run", unit_scale=True, dynamic_ncols=True, smoothing=0.1,
                    desc=desc, file=sys.stderr)

    return bar
