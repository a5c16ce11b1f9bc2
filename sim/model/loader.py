"""The model: loading the Vensim file and reading its lever catalogue.

Names, units, ranges, comments and time settings come from the one parse of
the ``.mdl`` (:mod:`sim.model.mdlinfo`), stored in the compiler's cached
intermediate representation (:func:`sim.model.compiler.compile_model`): loading a
model needs no PySD translation. PySD's translation is the reference, made
only when it is asked for (:attr:`Model.pysd_model`, :meth:`Model.fresh`:
the exactness tests, ``bench``, :func:`sim.engine.run.simulate_pysd`). PySD writes
its translation next to the ``.mdl``; we translate a copy in a cache folder
keyed by the file's SHA-256, so the repository is never written to and a
second process reuses the translation.

Levers and uncertain parameters are declared in the model itself: a constant
whose comment starts with ``LEVER:`` (a policy the district controls) or
``UNCERTAIN:`` (a parameter nobody controls, known only within a range), with
its allowed range in the Vensim units field, e.g. ``~ Dmnl [0,1]``.

Calibrated defaults: ``model/data/calibration.csv`` (written by ``shuangta
calibrate SPEC --apply``, never by hand) holds values fitted to history. Its
rows with ``scope = default`` for this model file replace the ``.mdl``'s
values when the model loads (:func:`read_calibration`), so ``Lever.default``
and every PySD run reflect them; the ``.mdl`` keeps the prior value and its
source. ``load_model(path, calibrated=False)`` gives the priors.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sim.errors import ModelError, ModelFileError
from sim.model.files import (announce_if_slow, cache_dir, cache_error, calibration_file, file_sha256, progress,
                             require_model_file)
from sim.resources import model_dir

#: The model shipped with the project (the one source of truth): the checkout's or the installed copy
#: (:mod:`sim.resources`).
MODEL_DIR = model_dir()
DEFAULT_MODEL = MODEL_DIR / "shuangta.mdl"

KINDS = ("LEVER", "UNCERTAIN")
_TAG = re.compile(r"^\s*(LEVER|UNCERTAIN)\s*:\s*", re.IGNORECASE)
_CHINESE = re.compile(r"[\u3400-\u9fff][\u3400-\u9fff、]*")
_UNIT_WORDS = {"亿元", "万元", "元", "亿", "万"}
_SOURCE = re.compile(r"Source\s*:\s*(.*?)(?:\s*Range\s*:.*)?$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Lever:
    """A constant of the model that a scenario, sweep or study may set.

    ``kind`` is ``"lever"`` for policies and ``"uncertain"`` for parameters
    known only within a range. ``lower``/``upper`` come from the Vensim
    ``[min,max]`` field; ``default`` is the value in the ``.mdl``.
    """

    name: str
    kind: str
    units: str
    lower: float
    upper: float
    default: float
    description: str
    chinese: str = ""
    source: str = ""

    def __post_init__(self):
        if not self.lower <= self.upper:
            raise ModelError(f"{self.name}: range [{self.lower}, {self.upper}] has lower > upper")
        if not self.lower <= self.default <= self.upper:
            raise ModelError(
                f"{self.name}: default {self.default} lies outside its range [{self.lower}, {self.upper}]"
            )

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "units": self.units,
            "lower": self.lower,
            "upper": self.upper,
            "default": self.default,
            "description": self.description,
            "chinese": self.chinese,
            "source": self.source,
        }


@dataclass
class Model:
    """A model: its compiled form plus what we read from its one parse.

    Use :func:`load_model`. ``pysd_model`` (PySD's translation, the reference)
    is made on first use only; it is pristine and must not be run in place
    (reference runs use ``fresh()``, a reloaded copy).
    """

    path: Path
    sha256: str
    #: Calibrated defaults applied to every run of this file ({Vensim name: value}).
    calibration: dict = field(default_factory=dict)
    #: The compiled model before calibration (:func:`sim.model.compiler.compile_model`; compiled on first use if None).
    uncalibrated: object = field(default=None, repr=False, compare=False)

    @cached_property
    def elements(self) -> list[dict]:
        """Every element of the ``.mdl`` in file order (:func:`sim.model.mdlinfo.element_table`)."""
        return self.compiled.ir["elements"]

    @cached_property
    def doc(self):
        """The variables' names, units, ranges, types and comments laid out as PySD's ``Model.doc``."""
        from sim.model.mdlinfo import doc_frame

        return doc_frame(self.elements)

    @cached_property
    def variables(self) -> list[str]:
        """Every model variable by its Vensim name, control variables excluded."""
        skip = {"FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP", "Time"}
        return [n for n in self.doc["Real Name"] if n not in skip]

    @cached_property
    def outputs(self) -> list[str]:
        """Variables that have a value at each time (lookup tables excluded): the result columns."""
        kinds = dict(zip(self.doc["Real Name"], self.doc["Type"]))
        return [n for n in self.variables if kinds.get(n) != "Lookup"]

    @cached_property
    def settings(self) -> dict[str, float]:
        """INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER as the .mdl sets them."""
        cm = self.compiled
        return {k: float(getattr(cm, k)) for k in ("initial_time", "final_time", "time_step", "saveper")}

    @cached_property
    def translated(self) -> Path:
        """PySD's translation of the ``.mdl`` (:func:`translate`, cached): made on first use."""
        return translate(self.path)

    @cached_property
    def pysd_model(self):
        """PySD's model of the ``.mdl`` with the calibrated defaults, the reference (loaded on first use)."""
        return self.fresh()

    @cached_property
    def catalogue(self) -> dict[str, Lever]:
        """Levers and uncertain parameters, by Vensim name, in model order."""
        out: dict[str, Lever] = {}
        for row in self.doc.to_dict("records"):
            comment = row["Comment"] if isinstance(row["Comment"], str) else ""
            m = _TAG.match(comment)
            if not m:
                continue
            name = row["Real Name"]
            if row["Type"] != "Constant":
                raise ModelError(f"{self.path}: {name} is tagged {m.group(1)} but is not a constant")
            limits = row["Limits"] if isinstance(row["Limits"], tuple) else (math.nan, math.nan)
            lower, upper = (float(limits[0]), float(limits[1])) if len(limits) >= 2 else (math.nan, math.nan)
            if math.isnan(lower) or math.isnan(upper):
                raise ModelError(f"{self.path}: {name} is tagged {m.group(1)} but has no [min,max] range")
            body = comment[m.end():].strip()
            terms = [t for t in _CHINESE.findall(body.split("Source:")[0]) if t not in _UNIT_WORDS]
            chinese = "; ".join(dict.fromkeys(terms))
            source = _SOURCE.search(body)
            out[name] = Lever(
                name=name,
                kind=m.group(1).lower(),
                units=str(row["Units"]),
                lower=lower,
                upper=upper,
                default=float(self.compiled.constants[name]),
                description=body.split("Source:")[0].strip(),
                chinese=chinese,
                source=source.group(1).strip() if source else "",
            )
        return out

    @property
    def levers(self) -> dict[str, Lever]:
        return {k: v for k, v in self.catalogue.items() if v.kind == "lever"}

    @property
    def uncertainties(self) -> dict[str, Lever]:
        return {k: v for k, v in self.catalogue.items() if v.kind == "uncertain"}

    @cached_property
    def compiled(self):
        """The vectorised ensemble runner for this model (:mod:`sim.model.compiler`), compiled once,
        with this model's calibrated defaults (:attr:`calibration`) as its constants' defaults."""
        from sim.model.compiler import compile_model

        cm = self.uncalibrated if self.uncalibrated is not None else compile_model(self.path)
        if self.calibration:
            from sim.model.compiler import with_settings

            cm = with_settings(cm, constants=self.calibration)
        return cm

    def fresh(self):
        """A reloaded PySD model with the calibrated defaults: no parameter of an earlier run can leak into it."""
        import pysd

        try:
            pm = pysd.load(str(self.translated))
        except Exception as exc:  # PySD raises many kinds; ours is one
            raise ModelError(f"{self.path}: PySD cannot load the translated model: {exc}") from exc
        if self.calibration:
            pm.set_components(dict(self.calibration))
        return pm


def translate(path: Path) -> Path:
    """Translate ``path`` with PySD into the cache (once per file content); return the ``.py``.

    A first translation takes seconds: it is announced on the ``sim.progress`` logger.
    """
    import pysd

    path = require_model_file(path)
    digest = file_sha256(path)
    folder = cache_dir() / f"{path.stem}-{digest[:16]}-pysd{pysd.__version__}"
    target = folder / f"{path.stem}.py"
    if target.exists():
        return target
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copy2(path, tmp / path.name)
    except OSError as exc:
        raise cache_error(exc) from None
    started = time.perf_counter()
    with announce_if_slow(f"translating {path.name} with PySD (first use of this version of the file) ...") as shown:
        try:
            pysd.read_vensim(str(tmp / path.name), initialize=False)
        except Exception as exc:  # PySD raises many kinds; ours is one
            shutil.rmtree(tmp, ignore_errors=True)
            raise ModelFileError(f"{path}: PySD cannot translate the model: {exc}") from exc
    if shown:
        progress.info(f"translated {path.name} in {time.perf_counter() - started:.1f} s; cached in {folder}")
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_calibration(model_path: str | Path, path: str | Path | None = None) -> dict[str, float]:
    """Calibrated defaults of the model at ``model_path``: ``{Vensim name: value}``.

    Reads ``path`` (default :func:`calibration_file`); keeps the rows whose
    ``model`` column names this model's file and whose ``scope`` is
    ``default`` (rows of scope ``history`` describe the 2015 state of a
    backcast and are not defaults). A missing file means no calibration.
    """
    import csv

    path = Path(path) if path is not None else calibration_file(model_path)
    if not path.is_file():
        return {}
    out: dict[str, float] = {}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ModelError(f"{path}: unreadable calibration file: {exc}") from None
    for i, row in enumerate(rows, start=2):
        if (row.get("model") or "").strip() != Path(model_path).name or (row.get("scope") or "").strip() != "default":
            continue
        name = (row.get("name") or "").strip()
        try:
            value = float(row.get("value") or "nan")
        except ValueError:
            value = math.nan
        if not name or not math.isfinite(value):
            raise ModelError(f"{path}: line {i}: needs a name and a finite value, got {row.get('name')!r} = {row.get('value')!r}")
        out[name] = value
    return out


def load_model(path: str | Path = DEFAULT_MODEL, calibrated: bool = True) -> Model:
    """Load the model at ``path``: its one parse, compiled (cached by content; no PySD translation).

    With ``calibrated`` (the default) the calibrated defaults of
    :func:`read_calibration` replace the ``.mdl``'s values of those constants.
    """
    from sim.model.compiler import compile_model

    path = require_model_file(path)
    cm = compile_model(path)
    calibration = read_calibration(path) if calibrated else {}
    unknown = sorted(set(calibration) - set(cm.constants))
    if unknown:
        raise ModelError(f"{calibration_file(path)}: not constants of {path.name}: {', '.join(unknown)}")
    return Model(path=path, sha256=cm.sha256, calibration=calibration, uncalibrated=cm)
