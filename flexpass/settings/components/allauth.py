"""Sign-in: allauth for passwords, email codes, Google and the mobile (headless) API."""

import environ

env = environ.Env()

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = env.int("LOGIN_CODE_TIMEOUT", default=300)
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = env.int("LOGIN_CODE_MAX_ATTEMPTS", default=3)
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True  # someone who lost the email can ask again
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[FlexPass] "
# Rate limits and lockout: the "login_failed" key limit is the lockout against
# password guessing (5 wrong passwords for one email in 5 minutes locks it).
ACCOUNT_RATE_LIMITS = {
    "login": env.str("RATE_LOGIN", default="30/m/ip"),
    "login_failed": env.str("RATE_LOGIN_FAILED", default="10/m/ip,5/300s/key"),
    "request_login_code": env.str("RATE_REQUEST_LOGIN_CODE", default="20/m/ip,3/m/key"),
    "signup": env.str("RATE_SIGNUP", default="20/m/ip"),
    "confirm_email": "1/10s/key",
    "reset_password": "20/m/ip,5/m/key",
}

GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a verified Google email logs into the same account
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
    }
}
if GOOGLE_CLIENT_ID:  # the Google button shows only when the app is configured
    SOCIALACCOUNT_PROVIDERS["google"]["APP"] = {
        "client_id": GOOGLE_CLIENT_ID,
        "secret": GOOGLE_CLIENT_SECRET,
        "key": "",
    }

HEADLESS_ONLY = False
HEADLESS_CLIENTS = ("app",)
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.JWTTokenStrategy"
HEADLESS_JWT_ALGORITHM = "HS256"  # signed with SECRET_KEY; RS256 + PEM if others must verify
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env.int("JWT_ACCESS_SECONDS", default=300)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env.int("JWT_REFRESH_SECONDS", default=86400 * 30)
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
HEADLESS_JWT_ROTATE_REFRESH_TOKEN = True
HEADLESS_SERVE_SPECIFICATION = True
