"""Files of a model: its hash, its calibration file, the cache folder, and slow steps announced.

The lowest layer of :mod:`sim.model`: the loader, the compiler, the one parse
(:mod:`sim.model.mdlinfo`) and :mod:`sim.resources` use these helpers, and
this module uses none of them, so the package has no import circle.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from pathlib import Path

from sim.errors import InputError, ModelFileError

#: Progress of long steps (translation, compilation): the CLI shows these lines unless -q.
progress = logging.getLogger("sim.progress")


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cache_dir() -> Path:
    """Folder for translations: ``$SHUANGTA_CACHE`` or ``~/.cache/shuangta-sd``."""
    env = os.environ.get("SHUANGTA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "shuangta-sd"


def calibration_file(model_path: str | Path) -> Path:
    """The calibration file of a model: ``data/calibration.csv`` next to the ``.mdl``."""
    return Path(model_path).resolve().parent / "data" / "calibration.csv"


def require_model_file(path: str | Path) -> Path:
    """``path`` if it is a file; :class:`~sim.errors.ModelFileError` (exit status 2) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found" if not path.exists() else f"{path}: not a file")
    return path


def cache_error(exc: OSError) -> InputError:
    """The error for a translation cache that cannot be written (read-only, a file, full)."""
    where = exc.filename or cache_dir()
    return InputError(f"{where}: cannot write the translation cache ($SHUANGTA_CACHE): {exc.strerror or exc}")


#: A step announced on :data:`progress` once it has taken this long [s] (shorter steps stay silent).
SLOW_STEP_SECONDS = 2.0


@contextlib.contextmanager
def announce_if_slow(message: str, after: float | None = None):
    """Log ``message`` on :data:`progress` if the block is still running ``after`` seconds in
    (default :data:`SLOW_STEP_SECONDS`).

    Yields a list that holds True once the message was shown, so the caller can report the end.
    """
    shown: list[bool] = []

    def announce() -> None:
        shown.append(True)
        progress.info(message)

    timer = threading.Timer(SLOW_STEP_SECONDS if after is None else after, announce)
    timer.daemon = True
    timer.start()
    try:
        yield shown
    finally:
        timer.cancel()
