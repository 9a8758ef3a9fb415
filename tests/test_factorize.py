"""core.factorize: numbering distinct values exactly, whatever the text holds."""
from __future__ import annotations

import numpy as np

from cdisc_convert.core.factorize import factorize_objects, factorize_text, factorize_values


def test_factorize_text_tells_values_apart_that_differ_after_a_nul():
    values = np.array(["", "\x00", "a", "a\x00b", "a\x00c", "a", None], dtype=object)
    codes, uniques = factorize_text(values)
    assert codes.tolist() == [0, 1, 2, 3, 4, 2, -1]
    assert uniques.tolist() == ["", "\x00", "a", "a\x00b", "a\x00c"]
    # without a NUL it is pd.factorize itself
    plain = np.array(["b", "a", "b"], dtype=object)
    assert factorize_text(plain)[0].tolist() == [0, 1, 0]
    # the writers' factorizers too
    for factorize in (factorize_values, factorize_objects):
        codes, uniques = factorize(values[:6])
        assert len(set(uniques[codes].tolist())) == 5
        assert uniques[codes].tolist() == values[:6].tolist()
