"""The one did-you-mean hint and the value descriptions every input file's messages use."""

from __future__ import annotations

import math

import pytest

from sim.specs.validation import did_you_mean, show_number, show_value

NAMES = ["Investment Rate", "Depreciation Rate", "GDP", "plan", "baseline"]


@pytest.mark.parametrize("word, kwargs, hint", [
    ("Investment Rte", {}, "; did you mean 'Investment Rate'?"),
    ("investment rate", {}, "; did you mean 'Investment Rate'? (names are case-sensitive)"),
    ("GPD", {}, "; did you mean 'GDP'?"),
    ("plann", {"quote": False, "brackets": True}, " (did you mean plan?)"),
    ("bas", {}, "; did you mean 'baseline'?"),  # a three-letter start of a name
    ("Rate", {}, ""),  # nothing close: no hint
    ("Depreciation Rat", {"n": 1, "brackets": True}, " (did you mean 'Depreciation Rate'?)"),
])
def test_did_you_mean(word, kwargs, hint):
    assert did_you_mean(word, NAMES, **kwargs) == hint


def test_values_are_described_as_people_write_them():
    assert [show_number(x) for x in (2000.0, 0.25, 7, True, math.inf)] == ["2000", "0.25", "7", "true", "inf"]
    assert show_value("high") == "string 'high'"
    assert show_value(True) == "boolean true"
    assert show_value([1, 2]) == "array [1, 2]"
