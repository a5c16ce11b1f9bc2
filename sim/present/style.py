"""What the charts and the report share: the key variables and the colours of verdicts.

One definition for :mod:`sim.present.plots` and :mod:`sim.present.report`; the
plan period they shade comes from the model (:func:`sim.present.plots.plan_period`)
and the units from :mod:`sim.present.unit_names`.
"""

from __future__ import annotations

#: Variables drawn, in order, when a folder has them.
KEY_VARIABLES = (
    "GDP",
    "Above Scale Industrial Output",
    "Urban Disposable Income per Capita",
    "Fixed Asset Investment",
    "General Public Budget Revenue",
    "Retail Sales",
    "Tertiary Value Added",
    "Unemployment Rate",
    "CO2 Emissions",
    "Energy Intensity Index",
    "Population",
    "Employment",
)
#: The key variables the report charts for scenario runs and sweeps (the page stays short): the headline
#: targets' variables first, then GDP and investment.
REPORT_VARIABLES = ("Above Scale Industrial Output", "Urban Disposable Income per Capita", "GDP",
                    "Fixed Asset Investment")
#: Colours of a verdict: met, not met, not evaluated.
COLOURS = {True: "#2e8b57", False: "#c0392b", None: "#b8b8b8"}
