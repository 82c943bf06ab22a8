from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts import selectors, services
from accounts.forms import ProfileForm


@require_GET
def referral_landing(request, code: str):
    """/r/<code>: remember who referred this visitor for the sign-up that follows."""
    referrer = selectors.user_by_referral_code(code)
    if referrer is None:
        messages.warning(request, "That referral link is not valid any more.")
        return redirect("account_signup")
    if request.user.is_authenticated:
        messages.info(request, "Referral links are for new accounts.")
        return redirect("home")
    request.session[services.SESSION_REFERRAL_KEY] = code.upper()
    messages.success(request, f"{referrer.display_name} invited you. Sign up to join FlexPass.")
    return redirect("account_signup")


@login_required
def profile(request):
    current = services.profile_ensure(user=request.user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            services.profile_update(
                user=request.user,
                display_name=form.cleaned_data["display_name"],
                phone=form.cleaned_data["phone"],
                avatar=form.cleaned_data.get("avatar"),
            )
            messages.success(request, "Profile saved.")
            return redirect("profile")
    else:
        form = ProfileForm(initial={"display_name": current.display_name, "phone": current.phone})
    referral_url = request.build_absolute_uri(f"/r/{current.referral_code}")
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "profile": current, "referral_url": referral_url},
    )
