"""`manage.py check_ledger`: prove the ledger adds up; exit 1 naming what does not."""

from django.core.management.base import BaseCommand, CommandError

from wallet.integrity import ledger_check, ledger_seal_all


class Command(BaseCommand):
    help = (
        "Check that every entry balances, every cached balance equals its postings, "
        "no no-negative account is negative and the seal chain verifies."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seal-first",
            action="store_true",
            help="Seal every unsealed entry before checking (a full sweep, unlike the beat sealer).",
        )

    def handle(self, *args, seal_first: bool = False, **options):
        if seal_first:
            sealed = ledger_seal_all(sweep=True, max_batches=10_000)
            self.stdout.write(f"Sealed {sealed} entr{'y' if sealed == 1 else 'ies'}.")
        result = ledger_check(triggered_by="command")
        report = result.report()
        if not result.ok:
            self.stderr.write(report)
            raise CommandError(
                f"Ledger check failed with {len(result.problems)} problem(s); "
                f"first: {result.problems[0].describe()}"
            )
        self.stdout.write(self.style.SUCCESS(report))
