"""Python Poseidon = circomlib: derived constants, golden values, and circomlibjs itself."""

from __future__ import annotations

import json
import random

import pytest

from zkmargin.field import R
from zkmargin.poseidon import MAX_INPUTS, constants, poseidon
from zkmargin.toolchain import Toolchain

from .conftest import node_json

# Published circomlib test vectors (circomlib test/poseidoncircuit.js, circomlibjs test).
GOLDEN = [
    ([1, 2], 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A),
    ([1, 2, 3, 4], 0x299C867DB6C1FDD79DCEFA40E4510B9837E60EBB1CE0663DBAA525DF65250465),
]


@pytest.mark.parametrize(("inputs", "expected"), GOLDEN)
def test_golden_vectors(inputs: list[int], expected: int) -> None:
    assert poseidon(inputs) == expected


def test_constants_equal_circomlibjs_tables(tc: Toolchain) -> None:
    """The Grain-derived constants equal circomlibjs's shipped tables for every width."""
    table = json.loads((tc.package_dir("circomlibjs") / "src" / "poseidon_constants.json").read_text())
    for t in range(2, MAX_INPUTS + 2):
        c, m = constants(t)
        assert list(c) == [int(x, 16) for x in table["C"][t - 2]], f"round constants t={t}"
        assert [list(r) for r in m] == [[int(x, 16) for x in r] for r in table["M"][t - 2]], f"MDS t={t}"


def test_matches_circomlibjs_on_random_inputs(tc: Toolchain) -> None:
    rng = random.Random(20261121)
    vectors = []
    for n in range(1, MAX_INPUTS + 1):
        for _ in range(3):
            vectors.append([rng.choice([0, 1, R - 1, rng.randrange(R), rng.randrange(2**128)]) for _ in range(n)])
    expected = node_json(tc, "poseidon.cjs", [[str(x) for x in v] for v in vectors])
    assert [str(poseidon(v)) for v in vectors] == expected


@pytest.mark.parametrize("bad", [[], list(range(17)), [R], [-1]])
def test_rejects_bad_inputs(bad: list[int]) -> None:
    with pytest.raises(ValueError):
        poseidon(bad)
