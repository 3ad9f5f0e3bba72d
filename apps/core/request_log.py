"""One line per refused request in the logs (a 403 is an answer, not a crash).

Django logs a 403 on `django.request` as a warning carrying the PermissionDenied traceback; with
Django's own "django" console handler beside the root one (DEBUG) it was printed twice. This filter,
attached to `django.request` in `portal/settings.py`, turns that record into one line naming the path,
the user id and the reason, without the traceback.
"""

from __future__ import annotations

import logging


def forbidden_line(*, path: str, user_id: int | None, reason: str) -> str:
    return f"forbidden path={path} user={user_id if user_id is not None else '-'} reason={reason or '-'}"


class ForbiddenOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Idempotent: logging configured again (a test, a reload) can leave two of us on the logger.
        if getattr(record, "status_code", None) != 403 or getattr(record, "forbidden_one_line", False):
            return True
        request = getattr(record, "request", None)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        exception = record.exc_info[1] if record.exc_info else None
        reason = str(exception) if exception is not None else "no membership of a merchant"
        record.msg = forbidden_line(path=getattr(request, "path", "?"), user_id=user_id, reason=reason)
        record.args, record.exc_info, record.exc_text = (), None, None
        record.forbidden_one_line = True
        return True
