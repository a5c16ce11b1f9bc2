"""Dimensional consistency of a Vensim model, checked with :mod:`pint`.

PySD keeps units as strings and never checks them. :func:`check_units`
reads the ``.mdl``'s one parse (:func:`sim.model.mdlinfo.abstract_model`, PySD's own
parser, shared with the compiler), reads every variable's
declared units (the Vensim units field, without its ``[min,max]`` range), and
propagates units through each equation's syntax tree:

* ``+``, ``-``, ``MIN``, ``MAX``, ``IF THEN ELSE`` branches, comparisons,
  ``XIDZ``'s fallback: operands must have the same units (same dimension and
  a conversion factor of exactly 1, so ``Yi + Yuan`` is caught too);
* ``*``, ``/``: units multiply and divide; ``^``: the exponent must be
  dimensionless; a dimensional base needs an exponent whose value is known
  (a number, or constants only), and its units are raised to that value;
* ``LN``, ``EXP``, ``LOG``, trigonometric functions: dimensionless argument;
* ``INTEG(flow, init)``: ``flow x Year`` and ``init`` equal the stock's units;
  ``SMOOTH*``/``DELAY*``: the time is in ``Year``, the initial value in the
  input's units; ``STEP``, ``RAMP``, ``PULSE``: times in ``Year``;
* a lookup call has the lookup's declared units; ``Time`` and the control
  variables have theirs;
* a number in an equation takes whatever units its neighbours in a sum,
  ``MIN``/``MAX`` or comparison have (``MAX(0, x)``), and is dimensionless
  in products.

Every equation whose computed units differ from its declared units is an
:class:`UnitIssue` naming the variable, the expression and both units.

Units known: ``Yuan``, ``Yi`` (亿元 = 1e8 Yuan), ``Person``, ``Year``,
``tce``/``ktce`` (tonnes of coal equivalent), ``tCO2``/``ktCO2``, ``Dmnl``
(dimensionless); more can be added with ``definitions``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

#: Unit definitions of the project's models (pint syntax).
DEFINITIONS = """
Yuan = [money]
Yi = 100000000 * Yuan
Person = [person]
Year = [time]
tce = [coal_equivalent]
ktce = 1000 * tce
tCO2 = [carbon_dioxide]
ktCO2 = 1000 * tCO2
"""

_TIME_NAMES = {"time": "Year"}


@dataclass(frozen=True)
class UnitIssue:
    """One inconsistency: ``variable``'s ``expression`` has ``found`` units, not the ``expected`` ones."""

    variable: str
    expression: str
    expected: str
    found: str
    detail: str = ""

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.variable}: {self.expression} -> expected {self.expected}, found {self.found}{extra}"


@dataclass
class UnitReport:
    """Result of :func:`check_units`: the equations checked and every issue found."""

    path: Path
    checked: int
    issues: list[UnitIssue]

    @property
    def ok(self) -> bool:
        return not self.issues


class _Mismatch(Exception):
    def __init__(self, expression: str, expected: str, found: str, detail: str = ""):
        super().__init__(detail)
        self.expression, self.expected, self.found, self.detail = expression, expected, found, detail


class _Any:
    """The units of a bare number: whatever its neighbours need."""

    def __repr__(self) -> str:
        return "number"


ANY = _Any()


def registry(definitions: str = ""):
    """A pint registry with the project's units (and ``definitions``) only."""
    import pint

    ureg = pint.UnitRegistry(None)
    for line in (DEFINITIONS + "\n" + definitions).splitlines():
        if line.strip() and not line.strip().startswith("#"):
            ureg.define(line.strip())
    return ureg


class UnitChecker:
    """Checks the equations of one abstract model (see :func:`check_units`)."""

    def __init__(self, abstract_model, definitions: str = ""):
        from pysd.translators.structures import abstract_expressions as ae
        from pysd.translators.structures import abstract_model as am

        self.ae, self.am = ae, am
        self.ureg = registry(definitions)
        self.one = self.ureg.Quantity(1.0, "")
        self.elements = {}
        self.declared = {}     # clean name -> Quantity(1, units) or an error text
        self.names = {}        # clean name -> Vensim name
        self.values = {}       # clean name -> numeric value of plain constants
        for section in abstract_model.sections:
            for el in section.elements:
                key = el.name.lower().replace(" ", "_")
                self.elements[key] = el
                self.names[key] = el.name
                self.declared[key] = self._parse(el.units)
                comps = el.components
                if len(comps) == 1 and isinstance(comps[0].ast, (int, float)) and not isinstance(comps[0].ast, bool):
                    self.values[key] = float(comps[0].ast)

    # -- units --------------------------------------------------------------------

    def _parse(self, text):
        if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
            return "no units declared"
        s = str(text).strip()
        s = re.sub(r"\bDmnl\b", "1", s, flags=re.IGNORECASE)
        try:
            return self.ureg.Quantity(1.0, self.ureg.parse_units(s) if s != "1" else "")
        except Exception as exc:  # pint raises several kinds
            return f"cannot parse units {text!r}: {exc}"

    def show(self, q) -> str:
        if q is ANY:
            return "a number"
        if isinstance(q, str):
            return q
        text = f"{q.units:~}" if not q.dimensionless or q.units != self.ureg.dimensionless else ""
        return text or "Dmnl"

    def same(self, a, b) -> bool:
        if a is ANY or b is ANY:
            return True
        if a.dimensionality != b.dimensionality:
            return False
        return math.isclose(a.to(b.units).magnitude, 1.0, rel_tol=1e-9)

    def _dimensionless(self, q) -> bool:
        return q is ANY or (q.dimensionless and math.isclose(q.to("").magnitude, 1.0, rel_tol=1e-9))

    # -- expressions ---------------------------------------------------------------

    def text(self, ast) -> str:
        """A readable rendering of an expression (Vensim-like)."""
        ae = self.ae
        if isinstance(ast, (int, float)):
            return repr(ast) if not isinstance(ast, float) or not ast.is_integer() else str(int(ast))
        if isinstance(ast, ae.ReferenceStructure):
            return self.names.get(ast.reference, ast.reference)
        if isinstance(ast, (ae.ArithmeticStructure, ae.LogicStructure)):
            ops, args = list(ast.operators), list(ast.arguments)
            if ops in (["negative"], [":NOT:"]):
                return ("-" if ops == ["negative"] else ":NOT: ") + self._wrap(args[0])
            out = self._wrap(args[0])
            for op, a in zip(ops, args[1:]):
                out += f" {op} {self._wrap(a)}"
            return out
        if isinstance(ast, ae.CallStructure):
            fname = self.names.get(ast.function.reference, ast.function.reference.upper().replace("_", " "))
            return f"{fname}({', '.join(self.text(a) for a in ast.arguments)})"
        if isinstance(ast, ae.IntegStructure):
            return f"INTEG({self.text(ast.flow)}, {self.text(ast.initial)})"
        if isinstance(ast, ae.SmoothStructure):
            return f"SMOOTH{'3' if ast.order == 3 else ''}I({self.text(ast.input)}, {self.text(ast.smooth_time)}, {self.text(ast.initial)})"
        if isinstance(ast, ae.DelayStructure):
            return f"DELAY{'3' if ast.order == 3 else '1'}I({self.text(ast.input)}, {self.text(ast.delay_time)}, {self.text(ast.initial)})"
        if isinstance(ast, ae.InitialStructure):
            return f"INITIAL({self.text(ast.initial)})"
        return type(ast).__name__

    def _wrap(self, ast) -> str:
        t = self.text(ast)
        return f"({t})" if isinstance(ast, (self.ae.ArithmeticStructure, self.ae.LogicStructure)) and " " in t else t

    def value(self, ast):
        """The numeric value of a constant expression (numbers and plain constants), or None."""
        ae = self.ae
        if isinstance(ast, (int, float)) and not isinstance(ast, bool):
            return float(ast)
        if isinstance(ast, ae.ReferenceStructure):
            if ast.reference in self.values:
                return self.values[ast.reference]
            el = self.elements.get(ast.reference)
            if el is not None and len(el.components) == 1 and isinstance(el.components[0].ast, ae.ArithmeticStructure):
                return self.value(el.components[0].ast)
            return None
        if isinstance(ast, ae.ArithmeticStructure):
            vals = [self.value(a) for a in ast.arguments]
            if any(v is None for v in vals):
                return None
            ops = list(ast.operators)
            if ops == ["negative"]:
                return -vals[0]
            out = vals[0]
            for op, v in zip(ops, vals[1:]):
                out = {"+": out + v, "-": out - v, "*": out * v, "/": out / v if v else math.nan,
                       "^": out ** v if out >= 0 else math.nan}.get(op, math.nan)
            return out
        return None

    def units(self, ast):
        """Units of an expression; raises _Mismatch at the first inconsistency inside it."""
        ae = self.ae
        if isinstance(ast, bool):
            return self.one
        if isinstance(ast, (int, float)):
            return ANY
        if isinstance(ast, ae.ReferenceStructure):
            key = ast.reference
            if key in _TIME_NAMES:
                return self.ureg.Quantity(1.0, _TIME_NAMES[key])
            q = self.declared.get(key)
            if q is None:
                raise _Mismatch(self.text(ast), "a variable", "unknown name", f"{key!r} is not in the model")
            if isinstance(q, str):
                raise _Mismatch(self.text(ast), "declared units", q, f"units of {self.names[key]}")
            return q
        if isinstance(ast, ae.ArithmeticStructure):
            return self._arithmetic(ast)
        if isinstance(ast, ae.LogicStructure):
            ops = list(ast.operators)
            if ops == ["negative"]:
                return self.units(ast.arguments[0])
            if ops == [":NOT:"] or set(ops) <= {":AND:", ":OR:"}:
                for a in ast.arguments:
                    self.units(a)
                return self.one
            a, b = (self.units(x) for x in ast.arguments)   # a comparison
            self._need_same(ast, a, b, "compared quantities")
            return self.one
        if isinstance(ast, ae.CallStructure):
            return self._call(ast)
        if isinstance(ast, ae.IntegStructure):
            raise _Mismatch(self.text(ast), "", "", "INTEG inside an expression")
        if isinstance(ast, (ae.SmoothStructure, ae.DelayStructure)):
            inp = self.units(ast.input)
            t = self.units(ast.smooth_time if isinstance(ast, ae.SmoothStructure) else ast.delay_time)
            self._need(ast, t, self.ureg.Quantity(1.0, "Year"), "the averaging/delay time")
            init = self.units(ast.initial)
            self._need_same(ast, inp, init, "input and initial value")
            return inp if inp is not ANY else init
        if isinstance(ast, ae.TrendStructure):
            self.units(ast.input)
            self._need(ast, self.units(ast.average_time), self.ureg.Quantity(1.0, "Year"), "the averaging time")
            return self.ureg.Quantity(1.0, "1/Year")
        if isinstance(ast, ae.InitialStructure):
            return self.units(ast.initial)
        if isinstance(ast, ae.InlineLookupsStructure):
            self.units(ast.argument)
            return ANY
        if isinstance(ast, ae.GameStructure):
            return self.units(ast.expression)
        raise _Mismatch(self.text(ast), "", "", f"{type(ast).__name__} is not checked")

    def _need(self, ast, q, want, what: str) -> None:
        if not self.same(q, want):
            raise _Mismatch(self.text(ast), self.show(want), self.show(q), what)

    def _need_same(self, ast, a, b, what: str) -> None:
        if not self.same(a, b):
            raise _Mismatch(self.text(ast), self.show(a), self.show(b), f"{what} differ")

    def _arithmetic(self, ast):
        ops, args = list(ast.operators), list(ast.arguments)
        if ops == ["negative"]:
            return self.units(args[0])
        units = [self.units(a) for a in args]
        out = units[0]
        for k, (op, q) in enumerate(zip(ops, units[1:]), start=1):
            if op in ("+", "-"):
                if not self.same(out, q):
                    raise _Mismatch(self.text(ast), self.show(out), self.show(q),
                                    f"'{op}' between {self.text(args[k - 1]) if k == 1 else 'the terms before'} and {self.text(args[k])}")
                out = q if out is ANY else out
            elif op == "*":
                out = (self.one if out is ANY else out) * (self.one if q is ANY else q)
            elif op == "/":
                out = (self.one if out is ANY else out) / (self.one if q is ANY else q)
            elif op == "^":
                if not self._dimensionless(q):
                    raise _Mismatch(self.text(ast), "Dmnl", self.show(q), f"exponent {self.text(args[k])} has units")
                if out is ANY or self._dimensionless(out):
                    out = self.one if out is ANY else out
                    continue
                exponent = self.value(args[k])
                if exponent is None or not math.isfinite(exponent):
                    raise _Mismatch(self.text(ast), "a dimensionless base", self.show(out),
                                    f"base with units raised to a variable power {self.text(args[k])}")
                out = out ** exponent
            else:
                raise _Mismatch(self.text(ast), "", "", f"operator {op!r} is not checked")
        return out

    def _call(self, ast):
        fname = ast.function.reference
        args = list(ast.arguments)
        year = self.ureg.Quantity(1.0, "Year")
        el = self.elements.get(fname)
        if el is not None:   # a lookup table
            self.units(args[0])
            q = self.declared[fname]
            if isinstance(q, str):
                raise _Mismatch(self.text(ast), "declared units", q, f"units of lookup {self.names[fname]}")
            return q
        units = [self.units(a) for a in args]
        if fname in ("min", "max", "modulo", "quantum"):
            out = ANY
            for q in units:
                self._need_same(ast, out if out is not ANY else q, q, f"arguments of {fname.upper()}")
                out = q if out is ANY else out
            return out
        if fname in ("abs", "integer"):
            return units[0]
        if fname == "sqrt":
            return self.one if units[0] is ANY else units[0] ** 0.5
        if fname in ("exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"):
            for a, q in zip(args, units):
                if not self._dimensionless(q):
                    raise _Mismatch(self.text(ast), "Dmnl", self.show(q), f"argument {self.text(a)} of {fname.upper()}")
            return self.one
        if fname == "power":
            base, exp = units
            if not self._dimensionless(exp):
                raise _Mismatch(self.text(ast), "Dmnl", self.show(exp), "exponent has units")
            if base is ANY or self._dimensionless(base):
                return self.one
            value = self.value(args[1])
            if value is None:
                raise _Mismatch(self.text(ast), "a dimensionless base", self.show(base), "variable power")
            return base ** value
        if fname in ("zidz", "xidz"):
            a, b = units[0], units[1]
            out = (self.one if a is ANY else a) / (self.one if b is ANY else b)
            if fname == "xidz":
                self._need_same(ast, out, units[2], "XIDZ's quotient and fallback")
            return out
        if fname == "if_then_else":
            a, b = units[1], units[2]
            self._need_same(ast, a, b, "IF THEN ELSE branches")
            return b if a is ANY else a
        if fname == "step":
            self._need(ast, units[1], year, "STEP time")
            return units[0]
        if fname == "ramp":
            for q in units[1:]:
                self._need(ast, q, year, "RAMP times")
            return (self.one if units[0] is ANY else units[0]) * year
        if fname in ("pulse", "pulse_train"):
            for q in units:
                self._need(ast, q, year, f"{fname.upper()} times")
            return self.one
        if fname == "pi":
            return self.one
        raise _Mismatch(self.text(ast), "", "", f"function {fname.upper()} is not checked")

    # -- equations -----------------------------------------------------------------

    def check_element(self, el) -> list[UnitIssue]:
        """Issues of one variable's equation(s) against its declared units."""
        key = el.name.lower().replace(" ", "_")
        declared = self.declared[key]
        issues = []
        for comp in el.components:
            ast = comp.ast
            if isinstance(comp, self.am.AbstractLookup) or type(ast).__name__ in ("LookupsStructure", "GetLookupsStructure"):
                if isinstance(declared, str):
                    issues.append(UnitIssue(el.name, "(lookup table)", "units", declared))
                continue
            expr = self.text(ast)
            if isinstance(declared, str):
                issues.append(UnitIssue(el.name, expr, "declared units", declared))
                continue
            try:
                if isinstance(ast, self.ae.IntegStructure):
                    flow = self.units(ast.flow)
                    rate = declared / self.ureg.Quantity(1.0, "Year")
                    if not self.same(flow, rate):
                        raise _Mismatch(f"INTEG flow {self.text(ast.flow)}", self.show(rate), self.show(flow),
                                        "a stock's net flow has the stock's units per Year")
                    init = self.units(ast.initial)
                    if not self.same(init, declared):
                        raise _Mismatch(f"INTEG initial value {self.text(ast.initial)}", self.show(declared),
                                        self.show(init), "")
                    continue
                found = self.units(ast)
                if not self.same(found, declared):
                    raise _Mismatch(expr, self.show(declared), self.show(found), "")
            except _Mismatch as m:
                issues.append(UnitIssue(el.name, m.expression, m.expected, m.found, m.detail))
        return issues

    def check(self) -> tuple[int, list[UnitIssue]]:
        issues, checked = [], 0
        for el in self.elements.values():
            checked += 1
            issues.extend(self.check_element(el))
        return checked, issues


def abstract_model(path: str | Path):
    """PySD's abstract model of a ``.mdl``: the one parse shared with the compiler (:func:`sim.model.mdlinfo.abstract_model`)."""
    from sim.model.mdlinfo import abstract_model as parse

    return parse(path)


def check_units(path: str | Path, definitions: str = "") -> UnitReport:
    """Check every equation of the ``.mdl`` at ``path``; see the module docstring."""
    checker = UnitChecker(abstract_model(path), definitions)
    checked, issues = checker.check()
    return UnitReport(Path(path), checked, issues)
