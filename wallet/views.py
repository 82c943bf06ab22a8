from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from wallet import services


@login_required
def wallet_home(request):
    wallet = services.wallet_ensure(user=request.user)
    return render(request, "wallet/home.html", {"wallet": wallet})
