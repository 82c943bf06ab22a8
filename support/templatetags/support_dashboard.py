"""The admin index's dashboard: `{% operator_dashboard %}` draws the chosen panel."""

from django import template

from support.dashboard import PANELS, panel_context

register = template.Library()


@register.inclusion_tag("admin/support/dashboard/_frame.html", takes_context=True)
def operator_dashboard(context):
    request = context["request"]
    panel = request.GET.get("panel", "overview")
    if panel not in (*PANELS, "apps"):
        panel = "overview"
    data = {} if panel == "apps" else panel_context(panel)
    return {
        **data,
        "panel": panel,
        "panels": [
            ("overview", "Overview"),
            ("health", "System health"),
            ("security", "Security"),
            ("apps", "All admin sections"),
        ],
        "request": request,
        "user": context.get("user"),
        "csrf_token": context.get("csrf_token"),
    }
