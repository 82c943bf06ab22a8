"""The operator dashboard at the admin index: business overview, system health, security.

Each panel is one function returning its template context; the index page
renders the chosen panel and refreshes it every DASHBOARD_REFRESH_SECONDS
through the panel URL (admin:support_dashboard_panel).
"""

from django.conf import settings

PANELS = ("overview", "health", "security")


def panel_context(panel: str) -> dict:
    """The figures of `panel` (KeyError for an unknown one)."""
    if panel == "overview":
        from support.dashboard.figures import overview

        context = overview()
    elif panel == "health":
        from support.dashboard.health import health

        context = {"health": health()}
    elif panel == "security":
        from support.dashboard.security import security

        context = {"security": security()}
    else:
        raise KeyError(panel)
    context["refresh_seconds"] = settings.DASHBOARD_REFRESH_SECONDS
    return context
