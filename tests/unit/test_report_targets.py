"""The report's run charts mark every kind of level target, aggregate targets included."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.present.report_evidence import EvidenceSections


def _draw(rows, series=None):
    ax = Figure().add_subplot()
    EvidenceSections._draw_targets(SimpleNamespace(chart_lang="en"), ax, rows, series)
    return ax


def test_an_aggregate_target_is_a_line_over_its_window():
    # "at most 5 in every year 2021-2025": the threshold holds from base_year + 1 to the target year
    row = {"id": "T9", "kind": "level", "target": 5.0, "year": 2025, "comparison": "<=", "aggregate": "max",
           "base_year": 2020}
    ax = _draw([row])
    (segments,) = [c.get_segments() for c in ax.collections]
    np.testing.assert_allclose(segments, [[[2021.0, 5.0], [2025.0, 5.0]]])
    assert [line.get_label() for line in ax.lines] == []
    assert "max" in ax.collections[0].get_label() and "T9" in ax.collections[0].get_label()


def test_a_plain_level_target_is_a_marker_in_its_year():
    row = {"id": "T1", "kind": "level", "target": 165.0, "year": 2025, "comparison": ">=", "aggregate": float("nan"),
           "base_year": 2020}
    ax = _draw([row])
    assert len(ax.collections) == 0
    (line,) = ax.lines
    np.testing.assert_allclose(np.column_stack(line.get_data()), [[2025.0, 165.0]])


def test_a_growth_target_is_a_path_from_the_base_year_value():
    # 10 %/yr from 100 in 2020: 100 * 1.1^5 = 161.051 in 2025
    series = pd.Series([100.0, 120.0, 150.0], index=[2020.0, 2022.0, 2025.0])
    row = {"id": "T2", "kind": "growth", "target": 0.10, "year": 2025, "comparison": ">=", "aggregate": None,
           "base_year": 2020}
    (line,) = _draw([row], series).lines
    x, y = line.get_data()
    assert (x[0], x[-1]) == (2020.0, 2025.0)
    np.testing.assert_allclose([y[0], y[-1]], [100.0, 161.051])
