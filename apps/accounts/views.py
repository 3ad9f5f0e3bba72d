"""Django's auth views, with the sign-in lockout and throttled, constant-work password resets, plus telling
the user's open sockets when a sign-in they rely on ends."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render

from apps.accounts import services
from apps.accounts.forms import ProfileForm
from apps.core.ratelimit import Bucket, RateLimited, client_ip, rate_hit
from apps.merchants.access_events import access_changed

RESET_LIMITED = "Too many reset requests. Try again in {minutes} minutes."


class LoginView(auth_views.LoginView):
    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "locked"):
            response.status_code = 429
        return response


class LogoutView(auth_views.LogoutView):
    """Signing out ends the session: its sockets re-check, find it gone and close (4401)."""

    def post(self, request, *args, **kwargs):
        user_id = request.user.pk if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        if user_id is not None:
            access_changed(user_id=user_id)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """The request only enqueues: looking the address up and mailing happen in the worker, so the answer
    (and the time it takes) is the same for an address with an account and one without."""

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        ip = client_ip(self.request)
        buckets = [Bucket("password_reset.ip", ip)] if ip else []
        try:
            rate_hit(*buckets, Bucket("password_reset.email", email.lower()))
        except RateLimited as exc:
            form.add_error(None, RESET_LIMITED.format(minutes=exc.minutes))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        services.password_reset_request(email=email)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A new password invalidates every session signed in with the old one, and so their sockets."""

    def form_valid(self, form):
        response = super().form_valid(form)
        access_changed(user_id=form.user.pk)
        return response


@login_required
def profile(request):
    """The member's own profile: their name and the zone they read times in."""
    initial = {"full_name": request.user.full_name, "timezone": request.user.timezone}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})
