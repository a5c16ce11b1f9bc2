"""Output locations, checked before any work starts.

Every command that writes names its output locations and has them checked
here first, so that a location it cannot use stops it at once, with one line
naming the path and the reason, and nothing is computed or written. The
checks: a folder must be a folder (not a file, not under a file) that this
process can write into (or create); a file must not be a folder, and an
existing file is replaced only when it is of the kind the command writes
(a report over a report) or when the user says ``--force``. Files of the
package's own library (``scenarios/``, ``model/``, ``sim/data/``) are never
replaced without ``--force``.

Typical use (in :mod:`sim.cli`)::

    check_outputs(Folder(out, "--out", result=True), File(scenario, "--write-scenario", force=force))
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sim.errors import InputError
from sim.resources import model_dir, scenario_dir

#: Folders of the package whose files no command replaces without --force: the scenario library and data
#: (the checkout's or the installed copies, :mod:`sim.resources`).
PROTECTED = (scenario_dir(), model_dir(), Path(__file__).resolve().parents[1] / "data")


@dataclass(frozen=True)
class Folder:
    """A folder a command writes into (created when missing).

    ``result``: the folder itself becomes one result folder, so an existing
    folder must be a result folder (it is replaced whole) or empty.
    """

    path: str | Path
    option: str = "--out"
    result: bool = False


@dataclass(frozen=True)
class File:
    """A file a command writes. An existing file is replaced only with ``force`` or when ``same_kind(path)``
    says it was written by this command (e.g. an earlier report)."""

    path: str | Path
    option: str = "--out"
    force: bool = False
    same_kind: Callable[[Path], bool] | None = None
    #: What the file is, for messages: "report", "scenario file", ...
    what: str = "file"


def _fail(path: Path, reason: str, option: str) -> InputError:
    return InputError(f"{path}: {reason} ({option})")


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of ``path`` (or ``path`` itself) that exists (following the path as written)."""
    probe = Path(os.path.abspath(path))
    while not os.path.lexists(probe):
        probe = probe.parent
    return probe


def _writable(folder: Path) -> str | None:
    """None when this process can create files in ``folder``, else the reason.

    Tries a real file (a read-only file system or an ACL refuses even root,
    which :func:`os.access` does not see) and removes it.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".shuangta-probe-", dir=folder)
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return "is on a read-only file system"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "is not writable (permission denied)"
        return f"cannot be written: {exc.strerror or exc}"
    os.close(fd)
    os.unlink(name)
    return None


def _check_room(path: Path, option: str, folder: Path | None = None) -> None:
    """The folder ``folder`` (default ``path`` itself, missing or a folder) that will hold ``path`` can be
    created or written: its nearest existing ancestor is a writable folder. Messages name ``path``."""
    folder = Path(os.path.abspath(folder if folder is not None else path))
    anchor = _existing_ancestor(folder)
    if not anchor.is_dir():
        where = "is" if anchor == Path(os.path.abspath(path)) else f"lies under {anchor}, which is"
        raise _fail(path, f"{where} a file, not a folder", option)
    reason = _writable(anchor)
    if reason:
        where = "it" if anchor == Path(os.path.abspath(path)) else f"the folder {anchor}"
        raise _fail(path, f"cannot write here: {where} {reason}", option)


def check_folder(spec: Folder) -> Path:
    """Check a :class:`Folder` output; return its path."""
    from sim.engine.results import is_result_folder

    path = Path(spec.path)
    if path.exists() and not path.is_dir():
        raise _fail(path, "is a file, and a folder is needed", spec.option)
    if spec.result and path.is_dir() and not is_result_folder(path) and any(path.iterdir()):
        raise _fail(path, "exists and is not a result folder; choose another folder", spec.option)
    _check_room(path, spec.option)
    return path


def is_protected(path: str | Path) -> bool:
    """True for a file of the package's scenario library or data (see :data:`PROTECTED`)."""
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(folder) for folder in PROTECTED)


def check_file(spec: File) -> Path:
    """Check a :class:`File` output; return its path."""
    path = Path(spec.path)
    if not path.name or path.name in (".", ".."):
        raise _fail(path, "is not a file name", spec.option)
    if path.is_dir():
        raise _fail(path, "is a folder, and a file name is needed", spec.option)
    if path.exists():
        if is_protected(path) and not spec.force:
            raise _fail(path, f"belongs to the package's library; it is not replaced unless you add --force",
                        spec.option)
        if not spec.force and not (spec.same_kind is not None and spec.same_kind(path)):
            raise _fail(path, f"exists and is not a {spec.what}; add --force to replace it", spec.option)
    _check_room(path, spec.option, path.parent)
    return path


def generated_by(command: str) -> Callable[[Path], bool]:
    """A ``same_kind`` test for text files whose first line says ``# Generated by `shuangta COMMAND```."""

    def test(path: Path) -> bool:
        try:
            with open(path, encoding="utf-8") as handle:
                first = handle.readline()
        except (OSError, UnicodeDecodeError):
            return False
        return first.startswith(f"# Generated by `shuangta {command}`")

    return test


def check_cache() -> Path:
    """The translation cache (``$SHUANGTA_CACHE``) can be created or written; return it."""
    from sim.model.files import cache_dir

    path = cache_dir()
    option = "$SHUANGTA_CACHE"
    if path.exists() and not path.is_dir():
        raise _fail(path, "is a file, and the translation cache needs a folder", option)
    _check_room(path, option)
    return path


def check_outputs(*specs: Folder | File | None) -> list[Path]:
    """Check every output location of a command (``None`` entries are skipped); the first problem is raised."""
    checked = []
    for spec in specs:
        if spec is None:
            continue
        checked.append(check_folder(spec) if isinstance(spec, Folder) else check_file(spec))
    return checked
