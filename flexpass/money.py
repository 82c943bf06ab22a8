"""Money helpers: paise in, Indian-format rupees out; one rounding rule for percentages."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def percent_of(amount_paise: int, percent: Decimal | str | int) -> int:
    """`percent` % of `amount_paise`, rounded half-up to a whole paisa (the only rounding rule)."""
    value = Decimal(amount_paise) * Decimal(str(percent)) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _group_indian(whole: int) -> str:
    digits = str(whole)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join(groups) + "," + tail


def format_rupees(amount_paise: int, *, symbol: bool = True) -> str:
    """12345678 -> '₹1,23,456.78'; negative amounts get a leading minus."""
    sign = "-" if amount_paise < 0 else ""
    whole, paise = divmod(abs(int(amount_paise)), 100)
    return f"{sign}{'₹' if symbol else ''}{_group_indian(whole)}.{paise:02d}"


def parse_rupees(text: str) -> int:
    """'1,234.50' -> 123450 paise. Raises ValueError for anything that is not exact paise."""
    cleaned = str(text).strip().replace(",", "").removeprefix("₹").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError("Enter an amount in rupees, like 250 or 99.50.") from exc
    # An exponent like 1e999999999 overflows the arithmetic below (decimal.Overflow is
    # no ValueError); no real amount has more than 15 digits before the point.
    if not value.is_finite() or value.adjusted() > 15:
        raise ValueError("Enter an amount in rupees, like 250 or 99.50.")
    paise = value * 100
    if paise != paise.to_integral_value():
        raise ValueError("Amounts have at most two decimal places (whole paise).")
    return int(paise)
