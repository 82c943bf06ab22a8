from django.conf import settings


def site(request):
    return {
        "EMBEDDED": settings.EMBEDDED,
        "GOOGLE_LOGIN_ENABLED": settings.GOOGLE_LOGIN_ENABLED,
    }
