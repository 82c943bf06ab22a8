from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace import services, tasks
from marketplace.models import Pass, PassNotification, PassStatus
from marketplace.tests.factories import usage_plan

pytestmark = pytest.mark.django_db


def _bought(buyer, plan, key="k"):
    return services.pass_purchase(buyer=buyer, plan=plan, idempotency_key=key).pass_obj


def test_the_expiry_job_expires_passes_whose_time_is_up(funded_buyer, plan):
    # given a day pass bought now
    pass_obj = _bought(funded_buyer, plan)
    just_before = pass_obj.expires_at - timedelta(seconds=1)

    # when the job runs just before and then at the end of its window
    assert services.passes_expire(now=just_before) == 0
    assert services.passes_expire(now=pass_obj.expires_at) == 1

    # then the pass is expired, and a second run changes nothing
    pass_obj.refresh_from_db()
    assert pass_obj.status == PassStatus.EXPIRED
    assert services.passes_expire(now=pass_obj.expires_at + timedelta(hours=1)) == 0


def test_a_pass_reads_as_expired_even_before_the_job_runs(funded_buyer, plan):
    pass_obj = _bought(funded_buyer, plan)
    later = pass_obj.expires_at + timedelta(minutes=1)

    assert pass_obj.status == PassStatus.ACTIVE
    assert pass_obj.effective_status(later) == PassStatus.EXPIRED
    assert not Pass.objects.usable(later).exists()
    assert Pass.objects.usable().get() == pass_obj


def test_the_expiry_job_marks_spent_usage_passes_used_up(funded_buyer):
    pass_obj = _bought(funded_buyer, usage_plan(units=3))
    Pass.objects.filter(pk=pass_obj.pk).update(units_left=0)

    assert tasks.passes_expire() == 1

    pass_obj.refresh_from_db()
    assert pass_obj.status == PassStatus.USED_UP


def test_revoked_passes_are_never_expired_over(funded_buyer, plan):
    pass_obj = _bought(funded_buyer, plan)
    Pass.objects.filter(pk=pass_obj.pk).update(status=PassStatus.REVOKED)

    assert services.passes_expire(now=pass_obj.expires_at + timedelta(days=1)) == 0

    pass_obj.refresh_from_db()
    assert pass_obj.status == PassStatus.REVOKED


def test_expiring_soon_is_recorded_once_an_hour_before_the_end(funded_buyer, plan):
    pass_obj = _bought(funded_buyer, plan)
    end = pass_obj.expires_at

    # more than an hour left: nothing yet
    assert services.passes_notify_expiring(now=end - timedelta(minutes=61)) == 0
    # within the hour: one notice, and never a second
    assert services.passes_notify_expiring(now=end - timedelta(minutes=59)) == 1
    assert services.passes_notify_expiring(now=end - timedelta(minutes=30)) == 0

    notice = PassNotification.objects.get()
    assert (notice.pass_obj, notice.user, notice.kind) == (pass_obj, funded_buyer, "expiring_soon")


def test_an_already_ended_pass_gets_no_expiring_soon_notice(funded_buyer, plan):
    pass_obj = _bought(funded_buyer, plan)

    assert services.passes_notify_expiring(now=pass_obj.expires_at + timedelta(minutes=1)) == 0
    assert not PassNotification.objects.exists()


def test_a_renewed_pass_gets_no_expiring_soon_notice(funded_buyer, plan):
    first = _bought(funded_buyer, plan, key="a")
    renewal = _bought(funded_buyer, plan, key="b")

    # an hour before the first ends, only... nothing: it is followed by the renewal
    assert services.passes_notify_expiring(now=first.expires_at - timedelta(minutes=30)) == 0
    # the renewal itself is noticed before it ends
    assert services.passes_notify_expiring(now=renewal.expires_at - timedelta(minutes=30)) == 1
    assert PassNotification.objects.get().pass_obj == renewal


def test_usage_passes_get_no_time_notice(funded_buyer):
    pass_obj = _bought(funded_buyer, usage_plan(validity_days=1))

    assert services.passes_notify_expiring(now=pass_obj.expires_at - timedelta(minutes=5)) == 0


def test_the_notify_task_records_the_run(funded_buyer, plan):
    from flexpass.jobs import job_last_run

    assert tasks.passes_notify_expiring() == 0
    assert job_last_run("marketplace-passes-notify-expiring") is not None
    assert timezone.now()
