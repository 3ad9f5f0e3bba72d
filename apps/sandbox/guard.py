"""The sandbox's on/off switch for its views: off (CHARLA_SANDBOX false), every /sandbox/ URL is a 404."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import Http404


def sandbox_on(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.CHARLA_SANDBOX:
            raise Http404("The sandbox is switched off.")
        return view(request, *args, **kwargs)

    wrapped.required_capability = getattr(view, "required_capability", None)
    return wrapped
