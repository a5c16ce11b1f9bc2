"""Units as people read them: one mapping, both languages, every unit a reader meets in the catalogue."""

from __future__ import annotations

from sim.present.unit_names import display_unit, model_unit, variable_unit


def test_units_in_words_in_both_languages():
    assert display_unit("Yi/Year") == "100 million yuan/yr"
    assert display_unit("Yi/Year", "zh") == "亿元/年"
    assert display_unit("Yuan/(Person*Year)", "zh") == "元/人/年"
    assert display_unit("Furlong/Fortnight") == "Furlong/Fortnight"  # not listed: as the model writes it
    assert display_unit(None) == ""


def test_variables_without_a_model():
    assert model_unit("GDP") == "Yi/Year" and variable_unit("GDP", "zh") == "亿元/年"
    assert variable_unit("Unemployment Rate") == "% of labour force"  # a fraction shown in %
    assert variable_unit("No Such Variable") == ""


def test_every_unit_of_the_lever_catalogue_has_words(model):
    units = {lever.units for lever in model.catalogue.values()}
    raw = sorted(u for u in units if display_unit(u) == u or display_unit(u, "zh") == u)
    assert raw == []
    assert "Yi/Year" not in {display_unit(u, lang) for u in units for lang in ("en", "zh")}
