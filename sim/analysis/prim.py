"""PRIM, EMA Workbench's implementation (the optional extra ``discovery``): the peeling trajectory of a sweep's runs and the box chosen on it; and the cases of interest it explains.

See :mod:`sim.analysis.discovery` for the method and what the numbers mean. This module never prints and never exits.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Sequence

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.plan.targets import Target, ensemble_gaps


#: Density the chosen box must reach (default choice: the last box on the trajectory that does).
DEFAULT_THRESHOLD = 0.8
#: Share of runs taken as cases (best worst normalised gap) when no run meets every target.
TOP_SHARE = 0.1
#: PRIM settings (EMA Workbench's defaults): share of runs peeled or pasted per step, smallest box.
PEEL_ALPHA = 0.05


PASTE_ALPHA = 0.05


MASS_MIN = 0.05


#: A limit whose quasi-p-value exceeds this is flagged as not significant.
SIGNIFICANCE = 0.05


#: How to install the optional PRIM implementation.
INSTALL_HINT = "pip install -e '.[discovery]' (or: pip install 'ema-workbench>=2.5')"


def load_prim():
    """EMA Workbench's PRIM module, or :class:`InputError` saying how to install it."""
    try:
        with warnings.catch_warnings():
            # EMA Workbench announces the optional back-ends it does not find (ipyparallel,
            # altair, ...) with warnings at import; none of them is used here.
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError as exc:
        raise InputError(
            f"scenario discovery needs EMA Workbench's PRIM, which is not installed ({exc}); "
            f"install it with: {INSTALL_HINT}") from None
    return prim


def ema_version() -> str | None:
    try:
        return metadata.version("ema_workbench")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed under another name
        return None


@dataclass
class PrimTrajectory:
    """The boxes of one PRIM search: ``trajectory`` (one row per box), each box's ``limits`` and quasi-p-values."""

    trajectory: pd.DataFrame  # box, coverage, density, mass, n, k, res_dim
    limits: list[pd.DataFrame]  # per box: index ("lower", "upper") x factors
    qp: list[dict]  # per box: {restricted factor: (qp_lower, qp_upper)}, NaN for an unrestricted side
    initial: pd.DataFrame  # the limits of box 0 (the data's range)

    def restricted(self, i: int) -> list[str]:
        """Factors box ``i`` restricts, most significant (smallest quasi-p-value) first."""
        lim, init = self.limits[i], self.initial
        names = [c for c in lim.columns
                 if lim.at["lower", c] > init.at["lower", c] or lim.at["upper", c] < init.at["upper", c]]
        return sorted(names, key=lambda c: (np.nanmin(np.r_[self.qp[i].get(c, (np.nan, np.nan)), np.inf]), c))


def prim_trajectory(x: pd.DataFrame, cases: np.ndarray, *, peel_alpha: float = PEEL_ALPHA,
                    paste_alpha: float = PASTE_ALPHA, mass_min: float = MASS_MIN) -> PrimTrajectory:
    """Run one PRIM search (EMA Workbench) of ``cases`` (bool, one per row of ``x``) over the columns of ``x``.

    Every column is treated as a real-valued factor. The whole trajectory is
    kept whatever its densities (the density threshold is applied by
    :func:`select_box`, not by PRIM).
    """
    prim = load_prim()
    cases = np.asarray(cases, dtype=bool)
    if len(cases) != len(x):
        raise InputError(f"{len(cases)} case flags for {len(x)} runs")
    if not cases.any():
        raise InputError("no run is a case of interest: nothing to discover")
    if cases.all():
        raise InputError("every run is a case of interest: nothing to discover")
    x = x.astype(float).reset_index(drop=True)
    y = cases.astype(int)
    with warnings.catch_warnings():
        # EMA Workbench 2.5 calls pandas APIs that pandas 3 deprecates; harmless here.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        # threshold only separates y = 1 (cases) from y = 0 here and keeps PRIM from
        # replacing a low-density final box by the initial one.
        alg = prim.Prim(x, y, threshold=1e-9, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
        box = alg.find_box()
    traj = box.peeling_trajectory.rename(columns={"id": "box"})
    traj = pd.DataFrame({
        "box": traj["box"].astype(int).to_numpy(),
        "coverage": traj["coverage"].astype(float).to_numpy(),
        "density": traj["density"].astype(float).to_numpy(),
        "mass": traj["mass"].astype(float).to_numpy(),
        "n": traj["n"].astype(int).to_numpy(),
        "k": traj["k"].astype(int).to_numpy(),
        "res_dim": traj["res_dim"].astype(int).to_numpy(),
    })
    limits = []
    for lim in box.box_lims:
        frame = pd.DataFrame(lim.to_numpy(dtype=float), index=["lower", "upper"], columns=list(lim.columns))
        limits.append(frame)
    qps = []
    for qp in box.qp:
        qps.append({name: tuple(math.nan if v is None or float(v) < 0 else float(v) for v in values)
                    for name, values in qp.items()})
    return PrimTrajectory(traj, limits, qps, limits[0])


def select_box(trajectory: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD, box: int | None = None) -> tuple[int, str]:
    """``(index, reason)`` of the chosen box on ``trajectory``.

    ``box`` (negative counts from the end) wins; otherwise the last box whose
    density reaches ``threshold``, or, when none does, the densest box (the
    first of equals: the one with the most coverage).
    """
    n = len(trajectory)
    density = trajectory["density"].to_numpy(dtype=float)
    if box is not None:
        if not -n <= box < n:
            raise InputError(f"--box {box}: the trajectory has boxes 0 to {n - 1} (or -1 to -{n})")
        i = box % n
        return i, f"box {i} as asked (--box {box})"
    ok = np.flatnonzero(density >= threshold - 1e-12)
    if len(ok):
        return int(ok[-1]), f"the last box on the trajectory with density >= {threshold:g}"
    i = int(np.argmax(density))
    return i, (f"no box reaches density {threshold:g} (the highest is {density[i]:.3f}): "
               f"the densest box")


def normalised_worst_gap(targets: Sequence[Target], values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(met_all, worst)`` per row of ``values`` (one column per target id): every target met, and the
    smallest normalised gap (gap / |threshold|; NaN, an undefined quantity, counts as -inf)."""
    met_all = np.ones(len(values), dtype=bool)
    worst = np.full(len(values), np.inf)
    for t in targets:
        met, gap = ensemble_gaps(t, values[t.id].to_numpy(dtype=float))
        g = gap / (abs(t.threshold) or 1.0)
        g = np.where(np.isfinite(g), g, -np.inf)
        met_all &= met
        worst = np.minimum(worst, g)
    return met_all, worst


def case_definition(met_all: np.ndarray, worst: np.ndarray, top: float | None = None) -> tuple[np.ndarray, dict]:
    """The cases of interest and how they were chosen.

    ``top`` None: the runs meeting every target, or, when none does, the top
    :data:`TOP_SHARE` by worst normalised gap. ``top`` in (0, 1): that share, always.
    """
    if top is not None and not 0 < top < 1:
        raise InputError(f"--top {top:g}: give a share of runs between 0 and 1 (0.1 is the top decile)")
    n_met = int(met_all.sum())
    if top is None and n_met:
        return met_all.copy(), {"rule": "met", "met": n_met, "top": None, "cut": None,
                                "text": "runs that meet every chosen target"}
    share = TOP_SHARE if top is None else float(top)
    finite = worst[np.isfinite(worst)]
    if not len(finite):
        raise InputError("no run has a defined gap on the chosen targets: nothing to discover")
    cut = float(np.quantile(finite, 1 - share))
    cases = worst >= cut
    why = "no run meets every chosen target" if n_met == 0 else f"--top {share:g} was asked ({n_met} runs meet every target)"
    return cases, {"rule": "top", "met": n_met, "top": share, "cut": cut,
                   "text": (f"runs in the top {share * 100:g} % by worst normalised gap (>= {cut:+.4f}), "
                            f"because {why}")}
