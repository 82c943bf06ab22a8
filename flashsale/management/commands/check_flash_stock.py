"""Prove every item's stored stock equals what its inventory events say.

For each item: available == sum of event deltas; total == sum of restocks;
available == total - units in active-or-overdue holds - units confirmed;
and each buyer's allowance == their units in active, overdue or confirmed holds.
Exit status 1 if anything disagrees (for cron and CI).
"""

from django.core.management.base import BaseCommand, CommandError

from flashsale.checks import stock_discrepancies


class Command(BaseCommand):
    help = "Check that live flash-sale stock equals the stock recomputed from inventory events."

    def add_arguments(self, parser):
        parser.add_argument("--sale", type=int, help="Only this sale's items.")

    def handle(self, *args, sale=None, **options):
        checked, problems = stock_discrepancies(sale_id=sale)
        for problem in problems:
            self.stderr.write(self.style.ERROR(problem))
        if problems:
            raise CommandError(f"{len(problems)} discrepancies in {checked} items.")
        self.stdout.write(self.style.SUCCESS(f"OK: {checked} items, stock matches the events."))
