"""allauth hooks: every new account, however it signs up, gets a profile."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from accounts.services import SESSION_REFERRAL_KEY, profile_ensure


def _referral_code(request) -> str:
    session = getattr(request, "session", None)
    return session.get(SESSION_REFERRAL_KEY, "") if session is not None else ""


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            profile_ensure(user=user, referral_code=_referral_code(request))
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form=form)
        profile_ensure(user=user, referral_code=_referral_code(request))
        name = sociallogin.account.extra_data.get("name", "")
        if name and not user.profile.display_name:
            user.profile.display_name = name[:80]
            user.profile.save(update_fields=["display_name"])
        return user
