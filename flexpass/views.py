from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from flexpass.api.problems import api_not_found, api_server_error


def home(request):
    return render(request, "home.html")


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return render(request, "500.html", status=500)


def local_url_or(request, url: str, default: str) -> str:
    """`url` if it is a page of this site, else `default` (no open redirect)."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def back_to(request, default: str) -> str:
    """Where a form's `next` asks to go back to, if that is a page of ours; else `default`
    (a crafted form must not send people to another site)."""
    return local_url_or(request, request.POST.get("next", ""), default)
