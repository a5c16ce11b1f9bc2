"""Result folders: atomic writes, ``manifest.json``, readers.

A result folder holds ``timeseries.csv`` (indexed by ``time``, one column per
model variable), usually ``targets.csv`` (the verdicts of
:func:`sim.plan.targets.evaluate`) and always ``manifest.json``. It is written
under a temporary sibling name and renamed into place when complete, so a
folder that exists is whole; it is never changed afterwards, only replaced
whole by a later write of the same name.

Typical use::

    manifest = build_manifest(sys.argv, model_path, scenario_dict, seed=1)
    ...run...
    write_run(out / "plan", run_files(timeseries, verdicts), finish_manifest(manifest, "complete"))
    result = read_run(out / "plan")
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import shlex
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

import pandas as pd

from sim.errors import InputError, SimError

MANIFEST = "manifest.json"
TIMESERIES = "timeseries.csv"
TARGETS = "targets.csv"
SCHEMA_VERSION = 1

#: Distributions whose versions every manifest records (``python`` is the interpreter).
PACKAGES = ("pysd", "numpy", "scipy", "pandas", "matplotlib", "click", "pydantic", "xarray")
#: Values ``status`` may take; a manifest starts ``running``.
STATUSES = ("running", "complete", "failed", "interrupted")


# --------------------------------------------------------------------------- low-level writes


def _fsync_dir(path: Path) -> None:
    """Flush a directory entry (renames) to disk; a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and :func:`os.replace`.

    Readers see the old file or the new one, never a part. Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        _write_file(tmp, bytes(data))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode(encoding))


# --------------------------------------------------------------------------- JSON


def _json_default(obj):
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays
        return obj.tolist()
    if hasattr(obj, "model_dump") and callable(obj.model_dump):  # pydantic models
        return obj.model_dump(mode="json")
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _strict(obj):
    """``obj`` with every NaN or infinity (a missing value) replaced by None, numpy values by Python ones."""
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _strict(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(value) for value in obj]
    if not isinstance(obj, (str, bytes, bool, int)) and hasattr(obj, "tolist") and callable(obj.tolist):
        return _strict(obj.tolist())  # numpy scalars and arrays
    return obj


def to_json(obj, indent: int | None = 2) -> str:
    """JSON text as manifests and result files use it: strict JSON (a missing value, NaN, is ``null``),
    UTF-8 (Chinese kept readable), Paths and numpy values converted."""
    try:
        return json.dumps(_strict(obj), indent=indent, ensure_ascii=False, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot write as JSON: {exc}") from None


def content_sha256(obj) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys, no spaces): the same content, the same hash."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- result folders


def _file_bytes(name: str, content) -> bytes:
    if isinstance(content, pd.DataFrame):
        index = content.index.name is not None or not isinstance(content.index, pd.RangeIndex)
        return content.to_csv(index=index).encode("utf-8")
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    raise InputError(f"{name}: cannot write a {type(content).__name__}; give bytes, str or a pandas DataFrame")


def _check_name(name) -> PurePosixPath:
    if not isinstance(name, str) or not name:
        raise InputError(f"file name {name!r} must be a non-empty string")
    rel = PurePosixPath(name.replace("\\", "/"))
    if rel.is_absolute() or any(part in ("", ".", "..") for part in rel.parts) or rel.parts[0].startswith("."):
        raise InputError(f"file name {name!r} must be a plain relative path inside the result folder")
    if str(rel) == MANIFEST:
        raise InputError(f"{MANIFEST} is written from the manifest argument; do not pass it in files")
    return rel


def is_result_folder(folder: str | Path) -> bool:
    """True for a folder holding a ``manifest.json`` (written by :func:`write_run`)."""
    return (Path(folder) / MANIFEST).is_file()


def run_files(timeseries: pd.DataFrame, targets: pd.DataFrame | None = None, **more) -> dict:
    """The ``files`` argument of :func:`write_run` under the standard names."""
    files = {TIMESERIES: timeseries}
    if targets is not None:
        files[TARGETS] = targets
    files.update(more)
    return files


def write_run(folder: str | Path, files: dict, manifest: dict) -> Path:
    """Write a complete result folder atomically; return its path.

    ``files`` maps names relative to the folder to ``bytes``, ``str`` (UTF-8)
    or ``pandas.DataFrame`` (written as CSV, with its index when the index is
    named or not a plain range). ``manifest`` becomes ``manifest.json``.

    Everything goes into ``.<name>.tmp-<pid>`` next to ``folder``, is
    fsynced, and is renamed into place. An existing result folder of the same
    name is first renamed aside and removed only after the new one is in
    place; an existing folder that is not a result folder (no manifest, not
    empty) is refused rather than replaced. If anything fails, no temporary
    folder is left behind and the old folder, if any, is untouched.
    """
    folder = Path(folder)
    if not folder.name or folder.name in (".", ".."):
        raise InputError(f"{folder}: not a usable result folder name")
    if not isinstance(manifest, dict):
        raise InputError(f"manifest must be a dict, got {type(manifest).__name__}")
    if not isinstance(files, dict):
        raise InputError(f"files must be a dict of name -> content, got {type(files).__name__}")
    names = {name: _check_name(name) for name in files}
    manifest_text = to_json(manifest) + "\n"
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{folder}: exists and is not a folder")
        if not is_result_folder(folder) and any(folder.iterdir()):
            raise InputError(f"{folder}: exists and is not a result folder (no {MANIFEST}); refusing to replace it")

    parent = folder.parent
    pid = os.getpid()
    tmp = parent / f".{folder.name}.tmp-{pid}"
    old = parent / f".{folder.name}.old-{pid}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for stale in (tmp, old):  # left by an earlier crash of a process with this id
            if stale.exists():
                shutil.rmtree(stale)
        tmp.mkdir()
        for name, content in files.items():
            target = tmp.joinpath(*names[name].parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_file(target, _file_bytes(name, content))
        _write_file(tmp / MANIFEST, manifest_text.encode("utf-8"))
        for sub in sorted({p.parent for p in tmp.rglob("*")}, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(sub)

        moved_aside = False
        if folder.exists():
            os.rename(folder, old)
            moved_aside = True
        try:
            os.rename(tmp, folder)
        except BaseException:
            if moved_aside:
                os.rename(old, folder)
            raise
        _fsync_dir(parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise SimError(f"{folder}: cannot write result folder: {exc}") from exc
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    return folder


# --------------------------------------------------------------------------- manifests


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str | None]:
    """Versions of python, this package (``sim``) and :data:`PACKAGES`; ``None`` when not installed."""
    import sim

    versions = {"python": platform.python_version(), "sim": _version("shuangta-sd") or sim.__version__}
    versions.update({name: _version(name) for name in PACKAGES})
    return versions


def build_manifest(command, model_path, scenario: dict | None, seed=None, extra: dict | None = None) -> dict:
    """A manifest for a command that is starting (``status = "running"``).

    ``command`` is the command line as a list (``sys.argv``); ``model_path``
    the ``.mdl`` file (hashed; ``None`` for commands without a model);
    ``scenario`` the resolved scenario content (recorded whole, with the
    SHA-256 of its canonical JSON); ``extra`` anything else the command wants
    recorded. Finish it with :func:`finish_manifest`.
    """
    if isinstance(command, str):
        command = shlex.split(command)
    command = [str(c) for c in command]
    model = None
    if model_path is not None:
        path = Path(model_path)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise InputError(f"{path}: cannot read model file: {exc}") from None
        model = {"path": str(path.resolve()), "sha256": digest}
        calibration = path.resolve().parent / "data" / "calibration.csv"
        if calibration.is_file():  # fitted defaults applied on load (sim.model.loader.read_calibration)
            model["calibration"] = {"path": str(calibration), "sha256": hashlib.sha256(calibration.read_bytes()).hexdigest()}
    if scenario is not None and not isinstance(scenario, dict):
        raise InputError(f"scenario must be a dict (the resolved content), got {type(scenario).__name__}")
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "command_line": shlex.join(command),
        "versions": package_versions(),
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "python_implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "model": model,
        "scenario": None if scenario is None else {"content": scenario, "sha256": content_sha256(scenario)},
        "seed": seed,
        "started": _now(),
        "finished": None,
        "wall_seconds": None,
        "status": "running",
        "error": None,
        "extra": dict(extra) if extra else {},
    }


def finish_manifest(manifest: dict, status: str = "complete", error: str | None = None) -> dict:
    """Stamp ``finished``, ``wall_seconds``, ``status`` (and ``error``) on ``manifest``; return it."""
    if status not in STATUSES or status == "running":
        allowed = ", ".join(s for s in STATUSES if s != "running")
        raise InputError(f"finish status {status!r} is not one of {allowed}")
    finished = _now()
    manifest["finished"] = finished
    started = manifest.get("started")
    try:
        delta = _dt.datetime.fromisoformat(finished) - _dt.datetime.fromisoformat(started)
        manifest["wall_seconds"] = max(delta.total_seconds(), 0.0)
    except (TypeError, ValueError):
        manifest["wall_seconds"] = None
    manifest["status"] = status
    if error is not None:
        manifest["error"] = str(error)
    return manifest


# --------------------------------------------------------------------------- readers


@dataclass
class RunResult:
    """A result folder read back: ``timeseries`` indexed by ``time`` [year], verdicts, manifest."""

    name: str
    timeseries: pd.DataFrame
    targets: pd.DataFrame | None
    manifest: dict
    path: Path | None = None


def _bool_or_none(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        return None
    return bool(value)


def read_targets_csv(path: str | Path) -> pd.DataFrame:
    """A ``targets.csv`` with ``met`` as True/False/None and ``evaluable`` as bool."""
    frame = pd.read_csv(path, keep_default_na=True)
    if "met" in frame.columns:
        frame["met"] = pd.Series([_bool_or_none(v) for v in frame["met"]], index=frame.index, dtype=object)
    if "evaluable" in frame.columns:
        frame["evaluable"] = [bool(_bool_or_none(v)) for v in frame["evaluable"]]
    for column in ("reason", "other_variable", "aggregate", "variable"):
        if column in frame.columns:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
    return frame


def read_run(folder: str | Path) -> RunResult:
    """Read a result folder written by :func:`write_run`.

    Needs ``manifest.json`` and ``timeseries.csv``; ``targets.csv`` is read
    when present (``targets`` is ``None`` otherwise). Anything else raises
    :class:`~sim.errors.InputError` naming what is missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such result folder")
    missing = [name for name in (MANIFEST, TIMESERIES) if not (folder / name).is_file()]
    if missing:
        raise InputError(f"{folder}: not a result folder (missing {', '.join(missing)})")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{folder / MANIFEST}: unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{folder / MANIFEST}: manifest is not a JSON object")
    try:
        timeseries = pd.read_csv(folder / TIMESERIES)
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder / TIMESERIES}: unreadable: {exc}") from None
    if "time" in timeseries.columns:
        timeseries = timeseries.set_index("time")
    elif len(timeseries.columns):
        timeseries = timeseries.set_index(timeseries.columns[0])
        timeseries.index.name = "time"
    else:
        raise InputError(f"{folder / TIMESERIES}: has no time column")
    try:
        timeseries.index = pd.Index(timeseries.index, dtype=float, name="time")
    except (TypeError, ValueError):
        raise InputError(f"{folder / TIMESERIES}: the time column is not numeric") from None
    targets = None
    if (folder / TARGETS).is_file():
        try:
            targets = read_targets_csv(folder / TARGETS)
        except (OSError, ValueError) as exc:
            raise InputError(f"{folder / TARGETS}: unreadable: {exc}") from None
    return RunResult(name=folder.name, timeseries=timeseries, targets=targets, manifest=manifest, path=folder)
