from accounts.models import Profile, User


def user_by_referral_code(code: str) -> User | None:
    return User.objects.filter(profile__referral_code=code.strip().upper(), is_active=True).first()


def profile_for(user: User) -> Profile | None:
    return Profile.objects.filter(user=user).select_related("referred_by").first()
