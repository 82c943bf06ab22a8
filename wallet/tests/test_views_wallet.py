"""The wallet page: balances, statement (filters, pages, CSV), spending chart."""

import json
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from html import unescape
from unittest import mock

import pytest
from django.utils import timezone

from accounts.services import profile_ensure
from wallet import selectors, services
from wallet.models import AccountKind, JournalEntry, Wallet
from wallet.tests.factories import UserFactory, fund, reserve, settle, wallet_for

pytestmark = pytest.mark.django_db
WALLET_URL = "/wallet/"
CSV_URL = "/wallet/statement.csv"
HTMX = {"HTTP_HX_REQUEST": "true"}


def person(name: str, email: str):
    user = UserFactory(email=email)
    profile = profile_ensure(user=user)
    profile.display_name = name
    profile.save(update_fields=["display_name"])
    wallet_for(user)
    return user


def wallet_of(user) -> Wallet:
    return services.wallet_ensure(user=user)


@contextmanager
def entries_dated(when: datetime):
    """Journal entries created inside the block carry `when` as their timestamp."""
    field = JournalEntry._meta.get_field("created_at")
    with mock.patch.object(field, "_get_default", lambda: when):
        yield


def ist(year, month, day, hour=12, minute=0) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def transfer(sender, recipient, rupees: int, key: str, note: str = ""):
    return services.wallet_transfer(
        sender=sender,
        recipient=recipient,
        amount_paise=rupees * 100,
        idempotency_key=key,
        note=note,
    )


def chart_data(html: str) -> dict:
    match = re.search(r'<script id="spending-data" type="application/json">(.*?)</script>', html)
    return json.loads(match.group(1))


ROW = re.compile(
    r'<tr data-testid="statement-row" data-kind="(?P<kind>\w+)">\s*'
    r'<td class="when">(?P<when>.*?)</td>\s*<td class="desc">(?P<desc>.*?)</td>.*?'
    r'<td class="amount num [\w-]+">(?P<amount>.*?)</td>\s*'
    r'<td class="amount balance num muted">(?P<balance>.*?)</td>',
    re.DOTALL,
)


def rows(response) -> list[tuple]:
    """(description, type, amount, balance after) of each statement line as rendered."""
    return [
        (unescape(m["desc"]), m["kind"], m["amount"], m["balance"])
        for m in ROW.finditer(response.content.decode())
    ]


@pytest.fixture
def asha():
    return person("Asha Rao", "asha@example.com")


@pytest.fixture
def ravi():
    return person("Ravi Menon", "ravi@example.com")


@pytest.fixture
def history(asha, ravi):
    """Asha: ₹2,500 in on 1 Mar, ₹450 to Ravi on 3 Mar, ₹50 back on 5 Mar, ₹100 reserved 7 Mar."""
    with entries_dated(ist(2025, 3, 1, 9, 30)):
        fund(wallet_of(asha), 250_000, key="h-fund-asha")
        fund(wallet_of(ravi), 10_000, key="h-fund-ravi")
    with entries_dated(ist(2025, 3, 3, 20, 15)):
        transfer(asha, ravi, 450, "h1", note="Dinner split")
    with entries_dated(ist(2025, 3, 5, 8, 5)):
        transfer(ravi, asha, 50, "h2", note="Cab share")
    with entries_dated(ist(2025, 3, 7, 23, 59)):
        reserve(wallet_of(asha), 10_000, key="h-reserve", purpose="withdrawal")


# --- the page -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    # When
    response = client.get(WALLET_URL)

    # Then
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/wallet/"


def test_page_shows_balances_and_the_statement_newest_first(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL)

    # Then
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-testid="balance-available">₹2,000.00</span>', html)
    assert re.search(r'data-testid="balance-reserved">₹100.00</span>', html)
    assert re.search(r'data-testid="balance-total">₹2,100.00</span>', html)
    assert 'data-testid="wallet-handle">@asha<' in html
    assert rows(response) == [
        ("Reserved for withdrawal", "reserve", "-₹100.00", "₹2,000.00"),
        ("Received from @ravi · Cab share", "transfer", "+₹50.00", "₹2,100.00"),
        ("Sent to @ravi · Dinner split", "transfer", "-₹450.00", "₹2,050.00"),
        ("Test top-up", "topup", "+₹2,500.00", "₹2,500.00"),
    ]
    assert ">+₹50.00<" in html
    assert ">-₹450.00<" in html
    assert "7 Mar 2025, 23:59" in html  # shown in India time
    assert response["Vary"].count("HX-Request") == 1


def test_new_wallet_shows_the_empty_states(client, asha):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL)

    # Then
    html = response.content.decode()
    assert rows(response) == []
    assert 'data-testid="statement-empty"' in html
    assert "No transactions yet." in html
    assert 'data-testid="chart-empty"' in html
    assert 'id="spending-data"' not in html
    assert 'data-testid="low-balance"' in html  # ₹0 is below the ₹100 threshold


def test_htmx_filter_by_type_returns_only_the_statement_fragment(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"kind": "transfer"}, **HTMX)

    # Then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="statement"')
    assert "<html" not in html
    assert 'data-testid="balance-available"' not in html
    assert rows(response) == [
        ("Received from @ravi · Cab share", "transfer", "+₹50.00", "₹2,100.00"),
        ("Sent to @ravi · Dinner split", "transfer", "-₹450.00", "₹2,050.00"),
    ]
    assert 'data-csv-url="/wallet/statement.csv?kind=transfer"' in html


def test_date_filters_include_both_whole_days_in_india_time(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"date_from": "2025-03-03", "date_to": "2025-03-05"}, **HTMX)

    # Then
    assert [row[0] for row in rows(response)] == [
        "Received from @ravi · Cab share",
        "Sent to @ravi · Dinner split",
    ]


def test_filters_that_match_nothing_say_so(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"kind": "refund"}, **HTMX)

    # Then
    assert rows(response) == []
    assert "Nothing matches these filters." in response.content.decode()


def test_a_reversed_date_range_is_explained_and_ignored(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"date_from": "2025-03-06", "date_to": "2025-03-02"}, **HTMX)

    # Then
    assert len(rows(response)) == 4
    assert "The start date is after the end date. Showing all dates." in response.content.decode()


def test_unknown_type_and_bad_dates_are_ignored(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"kind": "bogus", "date_from": "yesterday"}, **HTMX)

    # Then
    assert response.status_code == 200
    assert len(rows(response)) == 4


def test_statement_pages_hold_twenty_rows_and_keep_the_filters(client, asha):
    # Given: 45 top-ups
    for number in range(45):
        fund(wallet_of(asha), 100 + number, key=f"p-{number}")
    client.force_login(asha)

    # When
    first = client.get(WALLET_URL, {"kind": "topup"})
    last = client.get(WALLET_URL, {"kind": "topup", "page": 3}, **HTMX)

    # Then
    assert len(rows(first)) == 20
    assert rows(first)[0][2] == "+₹1.44"
    html = first.content.decode()
    assert "Page 1 of 3 · 45 entries" in html
    assert 'href="/wallet/?kind=topup&amp;page=2"' in html
    assert [row[2] for row in rows(last)] == ["+₹1.04", "+₹1.03", "+₹1.02", "+₹1.01", "+₹1.00"]
    assert "Page 3 of 3 · 45 entries" in last.content.decode()


def test_page_queries_do_not_grow_with_the_statement(client, asha, ravi, django_assert_num_queries):
    # Given: a page of transfers both ways and top-ups
    fund(wallet_of(asha), 1_000_000, key="q-fund")
    fund(wallet_of(ravi), 1_000_000, key="q-fund-ravi")
    for number in range(12):
        transfer(asha, ravi, 10 + number, f"q-out-{number}")
        transfer(ravi, asha, 5, f"q-in-{number}")
    client.force_login(asha)
    client.get(WALLET_URL)  # once-a-minute bookkeeping (activity) happens here

    # When / Then: user, wallet, profile (nav), count, page, handles, balances, chart, badges
    # (the session comes from the cache)
    with django_assert_num_queries(9):
        full = client.get(WALLET_URL)
    with django_assert_num_queries(5):
        fragment = client.get(WALLET_URL, {"page": 2}, **HTMX)
    assert len(rows(full)) == 20
    assert len(rows(fragment)) == 5


# --- chart ----------------------------------------------------------------------------------


def test_chart_stacks_the_last_30_days_of_spending_by_category(client, asha, ravi):
    # Given: today is 20 Mar; money left on 19 and 20 Mar, and long ago
    today = ist(2025, 3, 20, 10)
    with entries_dated(ist(2025, 1, 1)):
        fund(wallet_of(asha), 500_000, key="c-fund")
        transfer(asha, ravi, 999, "c-old")  # outside the window
    with entries_dated(ist(2025, 3, 19, 23, 30)):
        transfer(asha, ravi, 100, "c1")
        reserve(wallet_of(asha), 20_000, key="c-res")  # set aside, not spent
    with entries_dated(ist(2025, 3, 20, 0, 10)):
        transfer(asha, ravi, 250, "c2")
        transfer(ravi, asha, 40, "c3")  # money in: not spending
    client.force_login(asha)

    # When
    with mock.patch("django.utils.timezone.localdate", return_value=today.date()):
        response = client.get(WALLET_URL)

    # Then
    data = chart_data(response.content.decode())
    assert len(data["labels"]) == 30
    assert data["labels"][0] == "2025-02-19"
    assert data["labels"][-1] == "2025-03-20"
    assert data["series"] == [
        {"category": "transfers", "label": "Transfers", "data": [0] * 28 + [10_000, 25_000]}
    ]


def test_chart_counts_a_settled_reservation_as_spending(asha):
    # Given: ₹200 reserved, ₹150 of it paid to a vendor, ₹50 back
    wallet = wallet_of(asha)
    fund(wallet, 100_000, key="s-fund")
    held = reserve(wallet, 20_000, key="s-res")
    vendor = services.platform_account(AccountKind.PLATFORM_REVENUE)
    settle(held, [services.Leg(vendor, 15_000)])

    # When
    data = selectors.spending_by_day(wallet=wallet, days=2)

    # Then
    assert data["series"] == [{"category": "settle", "label": "Settlement", "data": [0, 15_000]}]


# --- CSV ------------------------------------------------------------------------------------


def test_csv_has_every_line_with_signed_rupees_and_running_balance(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(CSV_URL)

    # Then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert (
        response["Content-Disposition"] == f'attachment; filename="flexpass-statement-{today}.csv"'
    )
    assert response.content.decode() == (
        "Date,Type,Description,Amount (INR),Balance after (INR)\r\n"
        "2025-03-07 23:59,Reservation,Reserved for withdrawal,-100.00,2000.00\r\n"
        "2025-03-05 08:05,Transfer,Received from @ravi · Cab share,50.00,2100.00\r\n"
        "2025-03-03 20:15,Transfer,Sent to @ravi · Dinner split,-450.00,2050.00\r\n"
        "2025-03-01 09:30,Top-up,Test top-up,2500.00,2500.00\r\n"
    )


def test_csv_honours_the_same_filters_as_the_page(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(CSV_URL, {"kind": "transfer", "date_from": "2025-03-04"})

    # Then
    assert response.content.decode() == (
        "Date,Type,Description,Amount (INR),Balance after (INR)\r\n"
        "2025-03-05 08:05,Transfer,Received from @ravi · Cab share,50.00,2100.00\r\n"
    )


def test_csv_link_on_the_page_carries_the_filters(client, asha, history):
    # Given
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"kind": "transfer", "date_to": "2025-03-04", "page": "1"})

    # Then
    assert response.context["csv_url"] == "/wallet/statement.csv?kind=transfer&date_to=2025-03-04"


def test_csv_needs_a_login(client):
    # When
    response = client.get(CSV_URL)

    # Then
    assert response.status_code == 302


def test_old_lines_keep_their_balance_when_newer_ones_exist(client, asha, history):
    # Given: a newer line on another page of history
    with entries_dated(ist(2025, 3, 9)):
        fund(wallet_of(asha), 1_000, key="h-later")
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"date_to": "2025-03-03"}, **HTMX)

    # Then
    assert rows(response) == [
        ("Sent to @ravi · Dinner split", "transfer", "-₹450.00", "₹2,050.00"),
        ("Test top-up", "topup", "+₹2,500.00", "₹2,500.00"),
    ]


def test_date_window_edges(client, asha):
    # Given: one entry at 00:00 and one at 23:59 India time on the same day
    with entries_dated(ist(2025, 3, 10, 0, 0)):
        fund(wallet_of(asha), 100, key="e1")
    with entries_dated(ist(2025, 3, 10, 23, 59) + timedelta(seconds=59)):
        fund(wallet_of(asha), 200, key="e2")
    client.force_login(asha)

    # When
    response = client.get(WALLET_URL, {"date_from": "2025-03-10", "date_to": "2025-03-10"}, **HTMX)
    before = client.get(WALLET_URL, {"date_to": "2025-03-09"}, **HTMX)

    # Then
    assert [row[2] for row in rows(response)] == ["+₹2.00", "+₹1.00"]
    assert rows(before) == []


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_text(client):
    # Given a line whose description starts like a formula (a vendor named their service so)
    from wallet.services import Leg

    user = UserFactory()
    wallet = wallet_for(user)
    services.entry_post(
        kind="purchase",
        legs=[
            Leg(services.platform_account(AccountKind.GATEWAY_CLEARING), -100),
            Leg(wallet.available, 100),
        ],
        memo='=HYPERLINK("http://evil.example/x","Refund") · Day pass',
        idempotency_key="formula",
    )
    client.force_login(user)

    # When
    csv_text = client.get(CSV_URL).content.decode()

    # Then the cell starts with a quote mark, so it shows as text; amounts stay numbers
    assert ',"\'=HYPERLINK(""http://evil.example/x"",""Refund"") · Day pass",1.00,' in csv_text
