"""Pages for metered sessions: start one on a metered plan, watch its cost live, stop it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from flexpass.errors import DomainError
from marketplace.models import MeteredSession, Plan
from marketplace.services import sessions


@login_required
@require_POST
def session_start(request, plan_id: int):
    plan = get_object_or_404(Plan.objects.select_related("service"), pk=plan_id)
    try:
        session = sessions.session_start(user=request.user, plan=plan)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("marketplace-sessions:list")
    return redirect("marketplace-sessions:detail", session_id=session.pk)


@login_required
def session_list(request):
    rows = MeteredSession.objects.filter(user=request.user).select_related("plan__service")[:50]
    return render(request, "marketplace/vendor/sessions.html", {"sessions": rows})


@login_required
def session_detail(request, session_id: int):
    session = get_object_or_404(
        MeteredSession.objects.select_related("plan__service"), pk=session_id, user=request.user
    )
    return render(request, "marketplace/vendor/session.html", {"session": session})


@login_required
@require_POST
def session_stop(request, session_id: int):
    try:
        sessions.session_stop(session_id=session_id, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("marketplace-sessions:detail", session_id=session_id)


# --- the old vendor console address -----------------------------------------------------------


def console(request):
    """/sessions/vendor/ moved to /vendor/ (marketplace.console_views)."""
    return redirect("console:overview", permanent=True)
