"""Send money (review, then confirm) and receive (handle + QR code) pages."""

import re
import uuid
from html import unescape

import pytest
from django.contrib.messages import get_messages

from accounts.services import profile_ensure
from wallet import services
from wallet.models import JournalEntry
from wallet.tests.factories import UserFactory, balance, fund, ledger_rows, wallet_for

pytestmark = pytest.mark.django_db
SEND_URL = "/wallet/send/"
CONFIRM_URL = "/wallet/send/confirm/"


def person(name: str, email: str, **kwargs):
    user = UserFactory(email=email, **kwargs)
    profile = profile_ensure(user=user)
    profile.display_name = name
    profile.save(update_fields=["display_name"])
    wallet_for(user)
    return user


@pytest.fixture
def asha():
    user = person("Asha Rao", "asha@example.com")
    fund(services.wallet_ensure(user=user), 100_000, key="fund-asha")  # ₹1,000
    return user


@pytest.fixture
def ravi():
    return person("Ravi Menon", "ravi@example.com")


@pytest.fixture
def asha_client(client, asha):
    client.force_login(asha)
    return client


def available(user) -> int:
    return balance(services.wallet_ensure(user=user).available)


def hidden_fields(html: str) -> dict:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html)
    }


def field_errors(response) -> dict:
    form = response.context["form"]
    return {name: list(errors) for name, errors in form.errors.items()}


def review(client, **data):
    return client.post(SEND_URL, {"to": "", "amount_rupees": "", "note": "", **data})


# --- step 1: the form -----------------------------------------------------------------------


def test_send_page_is_prefilled_from_a_scanned_link(asha_client, ravi):
    # When
    response = asha_client.get(SEND_URL, {"to": "@ravi"})

    # Then
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<input type="text" name="to" value="@ravi"', html)
    assert 'data-testid="send-available">₹1,000.00<' in html


def test_review_shows_who_gets_how_much_and_moves_nothing(asha_client, asha, ravi):
    # Given
    before = ledger_rows()

    # When
    response = review(asha_client, to="@Ravi", amount_rupees="1,250.50", note="Rent share")

    # Then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="recipient-name">Ravi Menon<' in html
    assert 'data-testid="recipient-initial">R<' in html
    assert 'data-testid="recipient-handle">@ravi<' in html
    assert 'data-testid="confirm-amount">₹1,250.50<' in html
    assert "Rent share" in html
    fields = hidden_fields(html)
    assert {k: v for k, v in fields.items() if k != "csrfmiddlewaretoken"} == {
        "to": "@Ravi",
        "amount_paise": "125050",
        "note": "Rent share",
        "idempotency_key": fields["idempotency_key"],
    }
    uuid.UUID(fields["idempotency_key"])
    assert ledger_rows() == before


def test_review_finds_people_by_email_too(asha_client, ravi):
    # When
    response = review(asha_client, to="RAVI@example.com", amount_rupees="10")

    # Then
    assert 'data-testid="recipient-name">Ravi Menon<' in response.content.decode()


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("@nobody", "No FlexPass account has that email or handle."),
        ("nobody@example.com", "No FlexPass account has that email or handle."),
        ("@asha", "You cannot send money to yourself."),
        ("asha@example.com", "You cannot send money to yourself."),
        ("@gone", "That account is not active."),
        ("", "This field is required."),
    ],
)
def test_bad_recipients_are_form_errors(asha_client, asha, to, message):
    # Given
    person("Gone", "gone@example.com", is_active=False)
    before = ledger_rows()

    # When
    response = review(asha_client, to=to, amount_rupees="10")

    # Then
    assert response.status_code == 200
    assert field_errors(response) == {"to": [message]}
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert ledger_rows() == before


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "Enter an amount more than zero."),
        ("0", "Enter an amount more than zero."),
        ("0.00", "Enter an amount more than zero."),
        ("1.234", "Amounts have at most two decimal places (whole paise)."),
        ("abc", "Enter an amount in rupees, like 250 or 99.50."),
        ("NaN", "Enter an amount in rupees, like 250 or 99.50."),
        ("99999999999999", "The most you can send at once is ₹10,00,00,00,000.00."),
        ("", "This field is required."),
    ],
)
def test_bad_amounts_are_form_errors(asha_client, asha, ravi, amount, message):
    # Given
    before = ledger_rows()

    # When
    response = review(asha_client, to="@ravi", amount_rupees=amount)

    # Then
    assert field_errors(response) == {"amount_rupees": [message]}
    assert ledger_rows() == before
    assert available(asha) == 100_000


# --- step 2: confirm ------------------------------------------------------------------------


def confirm_data(client, **data) -> dict:
    response = review(client, **data)
    return hidden_fields(response.content.decode())


def test_confirm_sends_the_money_and_goes_back_to_the_wallet(asha_client, asha, ravi):
    # Given
    data = confirm_data(asha_client, to="@ravi", amount_rupees="250", note="Movie")

    # When
    response = asha_client.post(CONFIRM_URL, data)

    # Then
    assert response.status_code == 302
    assert response["Location"] == "/wallet/"
    assert available(asha) == 75_000
    assert available(ravi) == 25_000
    entry = JournalEntry.objects.get(kind="transfer")
    assert entry.metadata == {"from_user": asha.pk, "to_user": ravi.pk, "note": "Movie"}
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Sent ₹250.00 to Ravi Menon."]


def test_a_double_click_on_confirm_sends_once(asha_client, asha, ravi):
    # Given
    data = confirm_data(asha_client, to="@ravi", amount_rupees="100")

    # When
    first = asha_client.post(CONFIRM_URL, data)
    second = asha_client.post(CONFIRM_URL, data)

    # Then
    assert (first.status_code, second.status_code) == (302, 302)
    assert JournalEntry.objects.filter(kind="transfer").count() == 1
    assert available(asha) == 90_000
    assert available(ravi) == 10_000


def test_two_reviews_are_two_payments(asha_client, asha, ravi):
    # Given: the same payment reviewed twice on purpose
    first = confirm_data(asha_client, to="@ravi", amount_rupees="100")
    second = confirm_data(asha_client, to="@ravi", amount_rupees="100")

    # When
    asha_client.post(CONFIRM_URL, first)
    asha_client.post(CONFIRM_URL, second)

    # Then
    assert first["idempotency_key"] != second["idempotency_key"]
    assert available(ravi) == 20_000


def test_overdraft_is_refused_on_the_form_and_nothing_moves(asha_client, asha, ravi):
    # Given
    data = confirm_data(asha_client, to="@ravi", amount_rupees="1000.01")
    before = ledger_rows()

    # When
    response = asha_client.post(CONFIRM_URL, data)

    # Then
    assert response.status_code == 400
    assert field_errors(response) == {
        "__all__": ["Not enough money: you have ₹1,000.00 available."]
    }
    html = response.content.decode()
    assert 'data-testid="send-error">Not enough money: you have ₹1,000.00 available.' in html
    assert re.search(r'name="amount_rupees" value="1000.01"', html)
    assert ledger_rows() == before
    assert (available(asha), available(ravi)) == (100_000, 0)


def test_a_recipient_deactivated_after_review_is_refused(asha_client, asha, ravi):
    # Given
    data = confirm_data(asha_client, to="@ravi", amount_rupees="10")
    ravi.is_active = False
    ravi.save(update_fields=["is_active"])
    before = ledger_rows()

    # When
    response = asha_client.post(CONFIRM_URL, data)

    # Then
    assert response.status_code == 400
    assert field_errors(response) == {"to": ["That account is not active."]}
    assert ledger_rows() == before


def test_changing_the_amount_under_the_same_key_is_refused(asha_client, asha, ravi):
    # Given: one confirmed payment
    data = confirm_data(asha_client, to="@ravi", amount_rupees="10")
    asha_client.post(CONFIRM_URL, data)
    before = ledger_rows()

    # When: the hidden amount is edited and the form replayed
    response = asha_client.post(CONFIRM_URL, {**data, "amount_paise": "90000"})

    # Then
    assert response.status_code == 400
    assert field_errors(response) == {
        "__all__": ["This idempotency key was already used for a different request."]
    }
    assert ledger_rows() == before
    assert available(ravi) == 1_000


@pytest.mark.parametrize(
    ("amount_paise", "errors"),
    [
        ("0", {"amount_rupees": ["Enter an amount more than zero."]}),
        ("-100", {"amount_rupees": ["Enter an amount more than zero."]}),
        ("abc", {"amount_rupees": ["This field is required."]}),
        ("", {"amount_rupees": ["This field is required."]}),
        (
            "1000000000001",
            {"amount_rupees": ["The most you can send at once is ₹10,00,00,00,000.00."]},
        ),
    ],
)
def test_tampered_confirm_amounts_are_refused(asha_client, asha, ravi, amount_paise, errors):
    # Given
    data = confirm_data(asha_client, to="@ravi", amount_rupees="10")
    before = ledger_rows()

    # When
    response = asha_client.post(CONFIRM_URL, {**data, "amount_paise": amount_paise})

    # Then
    assert response.status_code == 400
    assert field_errors(response) == errors
    assert ledger_rows() == before


def test_a_tampered_key_asks_for_a_fresh_review(asha_client, asha, ravi):
    # Given
    data = confirm_data(asha_client, to="@ravi", amount_rupees="10")
    before = ledger_rows()

    # When
    response = asha_client.post(CONFIRM_URL, {**data, "idempotency_key": "not-a-uuid"})

    # Then
    assert response.status_code == 400
    assert field_errors(response) == {"__all__": ["Please review the payment again."]}
    assert ledger_rows() == before


def test_confirm_only_accepts_post(asha_client):
    # When
    response = asha_client.get(CONFIRM_URL)

    # Then
    assert response.status_code == 405


def test_send_pages_need_a_login(client):
    # When
    responses = [client.get(SEND_URL), client.post(CONFIRM_URL), client.get("/wallet/receive/")]

    # Then
    assert [r.status_code for r in responses] == [302, 302, 302]


# --- receive --------------------------------------------------------------------------------


def test_receive_shows_the_handle_and_a_qr_code_of_the_pay_link(asha_client, asha):
    # When
    response = asha_client.get("/wallet/receive/")

    # Then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="receive-handle">@asha<' in html
    assert 'value="http://testserver/wallet/send/?to=%40asha"' in html
    qr = re.search(r'data-testid="receive-qr">(.*?)</div>', html, re.DOTALL).group(1)
    assert qr.lstrip().startswith("<svg")
    assert "<path" in qr
