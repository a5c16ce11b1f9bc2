"""Options every command shares: -q/-v before or after the command name, whole years.

Used by :mod:`sim.cli` only; nothing here prints. -q and -v are recorded on
the root click context (so either position counts) and route the package's
logging to stderr: progress lines (logger ``sim.progress``) unless -q,
warnings always, INFO/DEBUG with -v/-vv.
"""

from __future__ import annotations

import logging
import sys

import click

#: Keys of the root context's ``meta`` holding -q and -v (given before or after the command name).
_QUIET, _VERBOSE = "shuangta.quiet", "shuangta.verbose"
QUIET_HELP = ("Quiet: no progress bars, notes or timings; the result the command exists to give "
              "(verdicts, tables) and errors are still printed.")
VERBOSE_HELP = "More detail (-vv for debug)."


class _Formatter(logging.Formatter):
    """Progress lines (logger ``sim.progress``) as plain text; anything else with its level and logger."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name.startswith("sim.progress"):
            return record.getMessage()
        return f"{record.levelname} {record.name}: {record.getMessage()}"


def _configure_logging(hide_progress: bool, verbose: int) -> None:
    """Route the package's logging to stderr: progress unless quiet, warnings, and INFO/DEBUG with -v/-vv."""
    level = logging.ERROR if hide_progress else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logger = logging.getLogger("sim")
    for handler in [h for h in logger.handlers if getattr(h, "shuangta_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.shuangta_cli = True
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logging.getLogger("sim.progress").setLevel(logging.ERROR if hide_progress else min(level, logging.INFO))


def verbosity(ctx: click.Context, param: click.Parameter, value) -> None:
    """Callback of -q/-v wherever they are given: record them on the root context and configure logging."""
    root = ctx.find_root()
    if param.name == "quiet":
        root.meta[_QUIET] = root.meta.get(_QUIET, False) or bool(value)
    else:
        root.meta[_VERBOSE] = root.meta.get(_VERBOSE, 0) + int(value or 0)
    _configure_logging(root.meta.get(_QUIET, False), root.meta.get(_VERBOSE, 0))


def verbosity_options() -> list[click.Option]:
    """-q and -v as options of one command."""
    return [click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=verbosity, help=QUIET_HELP),
            click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=verbosity, help=VERBOSE_HELP)]


def is_quiet() -> bool:
    """True when -q was given before or after the command name."""
    return bool(click.get_current_context().find_root().meta.get(_QUIET, False))


class Command(click.Command):
    """Every command takes -q/-v after its name as well as before it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.extend(verbosity_options())


class Year(click.IntRange):
    """A whole year in a range: ``2030``; ``2030.5`` is refused rather than cut."""

    name = "year"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit() is False:
            self.fail(f"{value!r} is not a whole year (such as 2030)", param, ctx)
        return super().convert(value, param, ctx)


class LibraryPath(click.Path):
    """A file, or the name of one in the scenario library: ``plan`` is ``scenarios/<subfolder>/plan.toml``
    of the checkout or of the installed package (:func:`sim.resources.library_file`) unless a file ``plan``
    exists here."""

    def __init__(self, subfolder: str = "", **kwargs):
        kwargs.setdefault("dir_okay", False)
        super().__init__(**kwargs)
        self.subfolder = subfolder

    def convert(self, value, param, ctx):
        from sim.resources import library_file

        return super().convert(str(library_file(value, self.subfolder)), param, ctx)
