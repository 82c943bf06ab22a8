"""The seal chain and the ledger check: green on an honest ledger, and every kind of damage
is found and named."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from flexpass.jobs import job_last_run
from flexpass.locks import lock
from wallet import integrity, tasks
from wallet.integrity import (
    GENESIS_SEAL,
    SEAL_LOCK_KEY,
    entry_digest_content,
    ledger_check,
    ledger_seal,
    seal_for,
)
from wallet.management.commands.check_ledger import Command
from wallet.models import JournalEntry, LedgerAccount, LedgerCheckRun, LedgerSeal, Posting
from wallet.services import Leg, wallet_transfer
from wallet.tests.factories import fund, funded_wallet, reserve, settle, tamper, wallet_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(vendor_payable):
    """A small honest ledger: top-ups, a transfer, a settled and a pending reservation."""
    alice = funded_wallet(50_000)
    bob = funded_wallet(20_000)
    wallet_transfer(sender=alice.user, recipient=bob.user, amount_paise=1_234, idempotency_key="t")
    settle(reserve(alice, 5_000), [Leg(vendor_payable, 3_000)])
    reserve(bob, 1_000)
    return alice, bob


def found(result) -> set[tuple]:
    return {(p.code, p.account, p.entry) for p in result.problems}


def test_sealer_seals_every_entry_in_id_order_in_one_chain(ledger):
    entries = list(JournalEntry.objects.order_by("id").values_list("id", flat=True))

    sealed = ledger_seal()

    seals = list(LedgerSeal.objects.order_by("sequence").values_list("sequence", "entry_id"))
    assert sealed == len(entries) == 6
    assert seals == list(enumerate(entries, start=1))


def test_each_seal_hashes_the_previous_seal_and_the_entry_content(ledger):
    ledger_seal()

    first, second = LedgerSeal.objects.order_by("sequence")[:2]
    entry = JournalEntry.objects.values(*integrity._ENTRY_FIELDS).get(pk=second.entry_id)
    postings = list(
        Posting.objects.filter(entry_id=entry["id"]).values_list("id", "account_id", "amount_paise")
    )
    assert second.seal == seal_for(first.seal, entry_digest_content(entry, postings))
    assert len(first.seal) == 64 and first.seal != GENESIS_SEAL


def test_sealer_only_adds_new_entries_and_extends_the_chain(ledger):
    ledger_seal()
    head = LedgerSeal.objects.order_by("-sequence").first()
    alice, bob = ledger

    fund(alice, 100)
    assert ledger_seal() == 1
    assert ledger_seal() == 0

    newest = LedgerSeal.objects.order_by("-sequence").first()
    assert newest.sequence == head.sequence + 1
    assert ledger_check().ok


def test_sealer_works_in_batches(ledger):
    assert ledger_seal(batch=4) == 4
    assert ledger_seal(batch=4) == 2
    assert ledger_seal(batch=4) == 0
    assert ledger_check().ok


def test_a_second_sealer_is_turned_away_while_one_runs(ledger):
    with lock(SEAL_LOCK_KEY):
        assert ledger_seal() == 0
    assert LedgerSeal.objects.count() == 0


def test_the_database_refuses_a_forked_chain(ledger):
    ledger_seal(batch=1)
    entry = JournalEntry.objects.order_by("id")[1]

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerSeal.objects.create(sequence=1, entry=entry, seal="f" * 64)


def test_seals_cannot_be_edited_or_deleted(ledger):
    ledger_seal()
    seal = LedgerSeal.objects.first()

    for sql in (
        "UPDATE wallet_ledgerseal SET seal = 'x' WHERE id = %s",
        "DELETE FROM wallet_ledgerseal WHERE id = %s",
    ):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [seal.pk])

    assert LedgerSeal.objects.get(pk=seal.pk).seal == seal.seal


def test_check_is_green_on_an_honest_ledger_and_stores_the_run(ledger):
    ledger_seal()

    result = ledger_check(triggered_by="test")

    assert result.ok is True
    assert result.problems == []
    assert result.stats["entries"] == 6
    assert result.stats["postings"] == 13
    assert result.stats["postings_total_paise"] == 0
    assert result.stats["balances_total_paise"] == 0
    assert (result.stats["sealed"], result.stats["unsealed"], result.stats["head_sequence"]) == (
        6,
        0,
        6,
    )
    run = LedgerCheckRun.objects.get(pk=result.run_id)
    assert (run.ok, run.problems, run.triggered_by) == (True, [], "test")
    assert run.finished_at >= run.started_at
    assert run.stats["head_seal"] == LedgerSeal.objects.get(sequence=6).seal


def test_check_is_green_with_recent_unsealed_entries(ledger):
    result = ledger_check()

    assert result.ok
    assert result.stats["unsealed"] == 6


def test_check_names_entries_the_sealer_left_behind(ledger):
    stale = JournalEntry.objects.order_by("id").first()
    tamper(
        "UPDATE wallet_journalentry SET created_at = %s WHERE id = %s",
        [timezone.now() - timedelta(hours=1), stale.pk],
    )

    result = ledger_check()

    assert not result.ok
    assert found(result) == {("unsealed_entry", None, stale.pk)}


def test_a_posting_edited_behind_the_triggers_is_found_and_named(ledger):
    # given a sealed ledger
    alice, bob = ledger
    ledger_seal()
    transfer = JournalEntry.objects.get(kind="transfer")
    posting = transfer.postings.get(account=bob.available)
    # when someone switches the triggers off and makes the transfer pay bob ₹100 more
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run checks queued by earlier writes
        cursor.execute("ALTER TABLE wallet_posting DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE wallet_posting SET amount_paise = amount_paise + 10000 WHERE id = %s",
            [posting.pk],
        )
        cursor.execute("ALTER TABLE wallet_posting ENABLE TRIGGER USER")
    # then the check fails and names the entry and the account
    result = ledger_check()
    assert not result.ok
    assert found(result) == {
        ("unbalanced_entry", None, transfer.pk),
        ("balance_drift", bob.available.code, None),
        ("ledger_total", None, None),
        ("seal_mismatch", None, transfer.pk),
    }
    assert "cached balance 20234 paise but its postings sum to 30234 paise" in result.report()
    assert LedgerCheckRun.objects.get(pk=result.run_id).ok is False


def test_a_balanced_rewrite_only_the_seal_can_see_is_found(ledger):
    # given a sealed ledger
    ledger_seal()
    entry = JournalEntry.objects.get(kind="transfer")
    # when an entry's kind is changed (sums and balances stay right)
    tamper("UPDATE wallet_journalentry SET kind = 'refund' WHERE id = %s", [entry.pk])
    # then only the seal notices, and it names that entry
    result = ledger_check()
    assert found(result) == {("seal_mismatch", None, entry.pk)}


def test_postings_moved_between_accounts_are_found(ledger):
    alice, bob = ledger
    ledger_seal()
    transfer = JournalEntry.objects.get(kind="transfer")
    tamper(
        "UPDATE wallet_posting SET account_id = %s WHERE entry_id = %s AND account_id = %s",
        [alice.available.pk, transfer.pk, bob.available.pk],
    )

    result = ledger_check()

    assert found(result) == {
        ("balance_drift", alice.available.code, None),
        ("balance_drift", bob.available.code, None),
        ("seal_mismatch", None, transfer.pk),
    }


def test_a_deleted_sealed_entry_is_found(ledger):
    ledger_seal()
    entry = JournalEntry.objects.get(kind="transfer")
    tamper("DELETE FROM wallet_posting WHERE entry_id = %s", [entry.pk])
    tamper("DELETE FROM wallet_journalentry WHERE id = %s", [entry.pk])

    result = ledger_check()

    codes = {code for code, _, _ in found(result)}
    assert ("sealed_entry_missing", None, entry.pk) in found(result)
    assert codes == {"sealed_entry_missing", "balance_drift"}


def test_a_rewritten_chain_differs_from_the_head_the_last_check_saw(ledger):
    # given a green check that recorded the chain head
    ledger_seal()
    assert ledger_check().ok
    entry = JournalEntry.objects.order_by("id").first()
    # when someone edits an entry and recomputes every seal after it to hide the edit
    tamper("UPDATE wallet_journalentry SET memo = 'rewritten' WHERE id = %s", [entry.pk])
    previous = GENESIS_SEAL
    for seal in LedgerSeal.objects.order_by("sequence"):
        row = JournalEntry.objects.values(*integrity._ENTRY_FIELDS).get(pk=seal.entry_id)
        postings = list(
            Posting.objects.filter(entry_id=row["id"]).values_list(
                "id", "account_id", "amount_paise"
            )
        )
        previous = seal_for(previous, entry_digest_content(row, postings))
        tamper("UPDATE wallet_ledgerseal SET seal = %s WHERE id = %s", [previous, seal.pk])
    # then the chain verifies on its own, but not against the head the last check saw
    result = ledger_check()
    assert found(result) == {("chain_rewritten", None, LedgerSeal.objects.get(sequence=6).entry_id)}


def test_cached_balance_drift_is_found_and_named(ledger):
    alice, bob = ledger
    ledger_seal()
    LedgerAccount.objects.filter(pk=alice.available.pk).update(balance_paise=12_345)

    result = ledger_check()

    assert found(result) == {
        ("balance_drift", alice.available.code, None),
        ("balances_total", None, None),
    }


def test_a_negative_no_negative_account_is_named(ledger):
    alice, bob = ledger
    tamper("ALTER TABLE wallet_ledgeraccount DROP CONSTRAINT ledger_account_no_negative")
    tamper("UPDATE wallet_ledgeraccount SET balance_paise = -1 WHERE id = %s", [bob.reserved.pk])

    result = ledger_check()

    assert ("negative_balance", bob.reserved.code, None) in found(result)


def test_an_account_allowed_to_overdraw_against_its_kind_is_named(ledger):
    alice, _ = ledger
    LedgerAccount.objects.filter(pk=alice.available.pk).update(may_go_negative=True)

    result = ledger_check()

    assert found(result) == {("may_go_negative", alice.available.code, None)}


def test_check_ledger_command_prints_a_report_when_green(ledger, capsys):
    call_command("check_ledger", "--seal-first")

    out = capsys.readouterr().out
    assert "Sealed 6 entries." in out
    assert "Ledger check OK" in out
    assert "sealed: 6 (head #6), unsealed: 0" in out


def test_check_ledger_command_fails_naming_the_account(ledger, capsys):
    alice, _ = ledger
    LedgerAccount.objects.filter(pk=alice.available.pk).update(balance_paise=1)

    with pytest.raises(CommandError, match=f"balance_drift.*account {alice.available.code}"):
        call_command("check_ledger")

    assert f"PROBLEM [balance_drift] account {alice.available.code}" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_check_ledger_command_exit_status_is_0_when_green_and_1_on_failure(capsys):
    # run_from_argv is what `manage.py check_ledger` runs; it closes the connections
    # afterwards, hence a transactional test.
    wallet = funded_wallet(1_000)
    Command().run_from_argv(["manage.py", "check_ledger"])  # returns: exit status 0
    LedgerAccount.objects.filter(pk=wallet.available.pk).update(balance_paise=1)

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "check_ledger"])

    assert exited.value.code == 1
    assert f"account {wallet.available.code}" in capsys.readouterr().err


def test_periodic_tasks_seal_check_and_record_their_runs(ledger):
    assert tasks.ledger_seal.delay().get() == 6
    assert tasks.ledger_check.delay().get() is True

    assert LedgerCheckRun.objects.get().triggered_by == "beat"
    assert job_last_run("wallet-seal-ledger") is not None
    assert job_last_run("wallet-check-ledger") is not None


def test_a_fresh_ledger_is_green():
    result = ledger_check()
    assert (result.ok, result.stats["entries"], result.stats["head_sequence"]) == (True, 0, 0)


def test_fund_helper_goes_through_the_posting_function(clearing):
    wallet = wallet_for()
    fund(wallet, 999)
    assert LedgerAccount.objects.get(pk=clearing.pk).balance_paise == -999


def test_ledger_health_reports_the_last_finished_check(ledger):
    from wallet.selectors import ledger_health

    assert ledger_health() == {"ok": None, "checked_at": None, "problems": []}
    alice, _ = ledger
    ledger_check()
    LedgerAccount.objects.filter(pk=alice.available.pk).update(balance_paise=1)
    failed = ledger_check()

    health = ledger_health()

    assert health["ok"] is False
    assert health["checked_at"] == LedgerCheckRun.objects.get(pk=failed.run_id).finished_at
    assert [p["code"] for p in health["problems"]] == ["balance_drift", "balances_total"]


def test_the_chain_is_walked_in_chunks_and_a_late_link_is_still_checked(ledger, monkeypatch):
    # given the chain is read two seals at a time
    monkeypatch.setattr(integrity, "CHAIN_CHUNK", 2)
    ledger_seal()
    assert ledger_check().ok
    last = LedgerSeal.objects.order_by("-sequence").first()
    # when the newest sealed entry is edited
    tamper("UPDATE wallet_journalentry SET memo = 'edited' WHERE id = %s", [last.entry_id])
    # then the walk reaches it and names it
    result = ledger_check()
    assert found(result) == {("seal_mismatch", None, last.entry_id)}
    assert result.stats["head_sequence"] == 6
