"""The seed note's 1-D example, checked against exact arithmetic and IEEE 754 facts."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from sparsity_lab.studies.seed_toy import RULES, first_exact_zero, trajectories


def test_l1_from_five_hits_zero_at_step_ten_and_stays():
    table = trajectories(w0=5.0, eta=0.5, n_steps=30)
    l1 = table[table["rule"] == "l1"].set_index("step")["w"]
    assert list(l1.loc[:10]) == [5.0 - 0.5 * k for k in range(11)]
    assert (l1.loc[10:] == 0.0).all()
    assert first_exact_zero(table)["l1"] == 10


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_l2_halves_exactly_while_normal(dtype):
    table = trajectories(w0=5.0, eta=0.5, n_steps=100, dtype=dtype)
    for rule in ("l2", "l2_factored"):
        w = table[table["rule"] == rule]["w"].to_numpy()
        # Exact rationals: each step is a halving and float arithmetic is exact above underflow.
        assert all(Fraction(w[k]) == Fraction(5, 2**k) for k in range(101))


def test_float64_underflow_facts():
    # 5 * 2^-k stays exact down to 2^-1074 * 5 at k = 1074; the smallest subnormal is 2^-1074.
    table = trajectories(w0=5.0, eta=0.5, n_steps=1100, dtype="float64")
    zero = first_exact_zero(table)
    assert zero == {"l1": 10, "l2": None, "l2_factored": 1077}
    tiny = 2.0**-1074
    l2 = table[table["rule"] == "l2"].set_index("step")["w"]
    # w - 0.5*w at w = 2^-1074: 0.5*w = 2^-1075 rounds to 0 (ties to even), so w never moves.
    assert (l2.loc[1076:] == tiny).all()
    assert l2.loc[1075] == 3 * tiny  # 5*tiny - round(2.5*tiny) = 5*tiny - 2*tiny
    factored = table[table["rule"] == "l2_factored"].set_index("step")["w"]
    assert factored.loc[1075] == 2 * tiny and factored.loc[1076] == tiny
    first_subnormal = table[(table["rule"] == "l2") & table["is_subnormal"]]["step"].min()
    assert first_subnormal == 1025  # 5 * 2^-1025 < 2^-1022 <= 5 * 2^-1024


def test_float32_underflow_facts():
    table = trajectories(w0=5.0, eta=0.5, n_steps=200, dtype="float32")
    assert first_exact_zero(table) == {"l1": 10, "l2": None, "l2_factored": 152}
    l2 = table[table["rule"] == "l2"]
    assert l2["w"].iloc[-1] == float(np.float32(2.0**-149))


def test_l1_misses_zero_when_w0_is_no_multiple_of_eta():
    # 0.1 is not a binary fraction: the iterates skip over 0 and then oscillate around it.
    table = trajectories(w0=5.0, eta=0.1, n_steps=80, rules=("l1",))
    assert first_exact_zero(table) == {"l1": None}
    tail = table["w"].iloc[-10:]
    assert (tail.abs() <= 0.1).all() and (tail != 0.0).all()


def test_table_shape_and_columns():
    table = trajectories(n_steps=4)
    assert {"rule", "step", "w", "dtype"} <= set(table.columns)
    assert len(table) == 5 * len(RULES)
    assert table["w"].dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "start"),
    [
        ({"eta": 0.0}, "eta=0.0"),
        ({"n_steps": -1}, "n_steps=-1"),
        ({"dtype": "float16"}, "dtype='float16'"),
        ({"rules": ("l3",)}, "rules=['l3']"),
    ],
)
def test_bad_input_raises_one_line(kwargs, start):
    with pytest.raises(ValueError, match="allowed values") as info:
        trajectories(**kwargs)
    assert str(info.value).startswith(start)
