"""Django's auth views, plus telling the user's open sockets when a sign-in they rely on ends."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from apps.merchants.events import access_changed


class LogoutView(auth_views.LogoutView):
    """Signing out ends the session: its sockets re-check, find it gone and close (4401)."""

    def post(self, request, *args, **kwargs):
        user_id = request.user.pk if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        if user_id is not None:
            access_changed(user_id=user_id)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A new password invalidates every session signed in with the old one, and so their sockets."""

    def form_valid(self, form):
        response = super().form_valid(form)
        access_changed(user_id=form.user.pk)
        return response
