from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flexpass.money import format_rupees, parse_rupees, percent_of


@pytest.mark.parametrize(
    ("paise", "shown"),
    [
        (0, "₹0.00"),
        (5, "₹0.05"),
        (99_999, "₹999.99"),
        (100_000, "₹1,000.00"),
        (12_345_678, "₹1,23,456.78"),
        (1_000_000_000, "₹1,00,00,000.00"),
        (-250_050, "-₹2,500.50"),
    ],
)
def test_format_rupees_uses_indian_grouping(paise, shown):
    assert format_rupees(paise) == shown


@pytest.mark.parametrize(
    ("text", "paise"),
    [("250", 25_000), ("99.5", 9_950), ("1,234.56", 123_456), ("₹ 10", 1_000), ("0.01", 1)],
)
def test_parse_rupees_gives_exact_paise(text, paise):
    assert parse_rupees(text) == paise


@pytest.mark.parametrize(
    "text", ["abc", "1.234", "", "NaN", "Infinity", "1e", "1e999999999", "-1e999999999"]
)
def test_parse_rupees_refuses_what_is_not_whole_paise(text):
    with pytest.raises(ValueError):
        parse_rupees(text)


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [(10_000, 5, 500), (999, 5, 50), (990, 5, 50), (989, 5, 49), (10, 5, 1), (9, 5, 0)],
)
def test_percent_of_rounds_half_up_to_a_paisa(amount, percent, expected):
    # 999 * 5% = 49.95 -> 50; 990 * 5% = 49.5 -> 50 (half up); 989 * 5% = 49.45 -> 49
    assert percent_of(amount, percent) == expected


@given(st.integers(min_value=0, max_value=10**12))
def test_format_and_parse_round_trip(paise):
    assert parse_rupees(format_rupees(paise)) == paise


@given(
    st.integers(min_value=0, max_value=10**12), st.decimals(min_value=0, max_value=100, places=2)
)
def test_percent_of_is_never_more_than_half_a_paisa_off(amount, percent):
    exact = Decimal(amount) * percent / 100
    assert abs(Decimal(percent_of(amount, percent)) - exact) <= Decimal("0.5")
