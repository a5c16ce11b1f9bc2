"""Reading the project's own data files (TOML): one place for the error messages."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sim.errors import InputError


def read_toml(path: str | Path, what: str) -> dict:
    """The TOML document at ``path`` as a dict; ``what`` names the file in errors (e.g. "targets file").

    A missing, unreadable or malformed file raises :class:`InputError` naming the path.
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: {what} is not valid TOML: {exc}") from None
