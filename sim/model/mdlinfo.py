"""One parse of a ``.mdl``: PySD's abstract model, and what people read from it.

PySD's Vensim parser (``VensimFile(path).parse().get_abstract_model()``) reads
the file once per process and content (:func:`abstract_model`, memoised by
SHA-256); the compiler (:mod:`sim.model.compiler`), the unit check
(:mod:`sim.model.units`) and the conservation check share that parse.

:func:`element_table` reads, from the same parse, what PySD's ``Model.doc``
shows of each variable -- its name, units, ``[min,max]`` range, comment and
type (Constant, Lookup, Stateful, Auxiliary) -- so that names, units, ranges,
documentation and the lever catalogue need no PySD translation: the compiler
stores the table in its cached intermediate representation and
:class:`sim.model.Model` reads it from there. :func:`doc_frame` lays it out as
PySD's ``doc`` table (sorted by name). ``tests/integration/test_mdlinfo.py``
checks the table against PySD's ``doc`` on the test models and the district
model.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
import sys
import tempfile
import types
import warnings
from pathlib import Path

from sim.errors import ModelFileError

#: The time settings of a Vensim model: PySD's names -> Vensim names.
CONTROL = {
    "initial_time": "INITIAL TIME",
    "final_time": "FINAL TIME",
    "time_step": "TIME STEP",
    "saveper": "SAVEPER",
}


def abstract_model(path: str | Path):
    """PySD's abstract model of the ``.mdl`` at ``path``, parsed once per process and file content.

    The file is parsed from a temporary copy (PySD must never write next to the
    original). The result is shared: callers must not change it.
    """
    from sim.model.files import file_sha256

    path = Path(path)
    return _parse(str(path.resolve()), file_sha256(path), str(path))


@functools.lru_cache(maxsize=8)
def vensim_parser():
    """PySD's Vensim parser: the class ``VensimFile``.

    ``import pysd`` runs PySD's package ``__init__``, which loads PySD's
    simulation back end (xarray, pandas' readers, openpyxl): about 0.3 s of a
    first run, against 0.1 s for the parser's own modules, which need none of
    it. So when PySD is not imported yet, ``pysd`` is registered as the bare
    package (its path and spec, its ``__init__`` not run) and the parser's
    modules load under it. The package's ``__init__`` runs, in the same module
    object, the first time anything reads an attribute of the package
    (``pysd.load``, ``pysd.__version__``, ``from pysd import ...``): reference
    runs and ``bench`` see the whole package, and the parser's classes stay the
    ones the translator and the unit check compare with.
    """
    if "pysd" not in sys.modules:
        spec = importlib.util.find_spec("pysd")
        package = types.ModuleType("pysd")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__, package.__file__, package.__loader__ = spec, spec.origin, spec.loader
        package.__package__ = "pysd"

        def complete(name: str):
            del package.__getattr__  # runs once: __init__ now defines the package's names
            spec.loader.exec_module(package)
            return getattr(package, name)

        package.__getattr__ = complete
        sys.modules["pysd"] = package
    return importlib.import_module("pysd.translators.vensim.vensim_file").VensimFile


def _parse(resolved: str, sha256: str, shown: str):
    source = Path(resolved)
    VensimFile = vensim_parser()
    with tempfile.TemporaryDirectory(prefix="shuangta-parse-") as tmp:
        copy = Path(tmp) / source.name
        copy.write_bytes(source.read_bytes())
        try:
            with warnings.catch_warnings():
                # the parser's warnings concern PySD's Python builder; what the
                # compiler cannot handle raises ModelError there
                warnings.simplefilter("ignore")
                vf = VensimFile(copy)
                vf.parse()
                return vf.get_abstract_model()
        except Exception as exc:  # PySD raises many kinds; ours is one
            raise ModelFileError(f"{shown}: PySD cannot parse the model: {exc}") from exc


def _limit(value) -> float | None:
    """One end of a Vensim range as a number (None: open)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def element_table(abstract, ir: dict) -> list[dict]:
    """Every element of the parsed model with its type, units, range and comment, in file order.

    ``ir`` is the compiler's intermediate representation of the same parse: its
    constants, lookup tables and stateful objects give the type as PySD assigns
    it (an element holding an INTEG, SMOOTH, DELAY, TREND or INITIAL is
    ``Stateful``). Each row: ``name``, ``type``, ``units``, ``limits``
    (``[lower, upper]`` or ``[lower, upper, increment]``, None where open), ``comment``.
    """
    constants = {c["name"] for c in ir["constants"]}
    lookups = {lk["name"] for lk in ir["lookups"] if lk.get("name")}
    stateful = {s["element"] for s in ir["statefuls"]}
    control = set(CONTROL.values())
    rows = []
    for section in abstract.sections:
        for el in section.elements:
            name = el.name
            if name in lookups:
                kind = "Lookup"
            elif name in constants or name in control:
                kind = "Constant"
            elif name in stateful:
                kind = "Stateful"
            else:
                kind = "Auxiliary"
            limits = list(el.limits or ())
            limits += [None] * (2 - len(limits))
            rows.append({
                "name": name,
                "type": kind,
                "units": el.units or "",
                "limits": [_limit(v) for v in limits],
                "comment": (el.documentation or "").strip(),
            })
    return rows


def doc_frame(elements: list[dict]):
    """The element table as PySD's ``Model.doc``: columns ``Real Name``, ``Units``, ``Limits``
    (a tuple, NaN where open), ``Type``, ``Comment``; one row per element, sorted by name."""
    import pandas as pd

    rows = [{
        "Real Name": e["name"],
        "Units": e["units"],
        "Limits": tuple(math.nan if v is None else float(v) for v in e["limits"]),
        "Type": e["type"],
        "Comment": e["comment"],
    } for e in elements]
    columns = ["Real Name", "Units", "Limits", "Type", "Comment"]
    return pd.DataFrame(rows, columns=columns).sort_values(by="Real Name").reset_index(drop=True)
