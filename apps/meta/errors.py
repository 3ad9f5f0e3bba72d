"""What a Graph API error means for the message that met it: one table, read by every sender.

Each Graph error code (and an HTTP status or a transport failure without one) maps once to an outcome:
`retry` (transient: send again later), `slow_down` (throughput: hold new requests, then send again),
`skip_today` (the per-user marketing limit: try again another day), `revoke_consent` (the person
stopped marketing messages: the consent ledger must learn it) or `fail` (deterministic: sending the
same request again gets the same answer).
"""

from __future__ import annotations

from typing import Literal

Outcome = Literal["retry", "slow_down", "skip_today", "revoke_consent", "fail"]
RETRY: Outcome = "retry"
SLOW_DOWN: Outcome = "slow_down"
SKIP_TODAY: Outcome = "skip_today"
REVOKE_CONSENT: Outcome = "revoke_consent"
FAIL: Outcome = "fail"

# Codes from Meta's Cloud API error reference. A code not listed falls back on the HTTP status.
CODE_OUTCOMES: dict[int, Outcome] = {
    1: RETRY,  # API unknown (temporary)
    2: RETRY,  # API service (temporary)
    131000: RETRY,  # "something went wrong"
    4: SLOW_DOWN,  # app-level call rate
    17: SLOW_DOWN,  # user-level call rate
    32: SLOW_DOWN,  # page-level call rate
    613: SLOW_DOWN,  # custom rate limit
    80007: SLOW_DOWN,  # WhatsApp Business Account rate limit
    130429: SLOW_DOWN,  # Cloud API throughput reached
    131049: SKIP_TODAY,  # per-user marketing limit ("healthy ecosystem engagement")
    131050: REVOKE_CONSENT,  # the user stopped marketing messages
    100: FAIL,  # invalid parameter
    190: FAIL,  # access token expired or invalid
    131026: FAIL,  # message undeliverable
    131047: FAIL,  # re-engagement: the 24-hour window is closed
    132000: FAIL,  # template parameter count mismatch
    132001: FAIL,  # template does not exist
    132005: FAIL,  # translated text too long
    132007: FAIL,  # template format character policy violated
    132012: FAIL,  # template parameter format mismatch
    132015: FAIL,  # template paused
    132016: FAIL,  # template disabled
}


# What a failed send's code means, in a marketer's words (the results page lists failures with these).
CODE_LABELS: dict[str, str] = {
    "1": "Meta's API had a temporary problem",
    "2": "Meta's API service had a temporary problem",
    "100": "Meta refused a parameter of the message",
    "190": "the channel's access token expired or is invalid",
    "131000": "Meta answered that something went wrong",
    "131026": "the message could not be delivered",
    "131047": "the 24-hour service window was closed",
    "131049": "WhatsApp's per-person marketing limit held it back",
    "131050": "the person stopped marketing messages",
    "132000": "the template's parameters did not match",
    "132001": "the template does not exist at Meta",
    "132005": "the translated text is too long",
    "132007": "the template breaks Meta's format policy",
    "132012": "a template parameter had the wrong format",
    "132015": "the template is paused",
    "132016": "the template is disabled",
    "transport": "no answer from Meta (the network failed)",
}


def code_label(code: str) -> str:
    """Plain words for a failure code as the ledger stores it (a Graph code, or `transport`)."""
    words = CODE_LABELS.get(str(code))
    if words is None:
        return f"the provider refused it (code {code})" if code and code != "unspecified" else "no reason recorded"
    return f"{words} (code {code})" if code != "transport" else words


# Plain words for a person reading a Graph error (the Settings page's connection check), by code, then by outcome.
CODE_WORDS: dict[int, str] = {
    190: "Meta refused the access token: it is invalid or has expired. Paste a new token and save.",
    10: "The access token lacks a permission this needs (whatsapp_business_messaging or pages_messaging).",
    200: "The access token lacks a permission this needs (whatsapp_business_messaging or pages_messaging).",
    100: "Meta does not know this id, or the token cannot see it: check the id and that the token belongs to "
    "the same business.",
    803: "Meta does not know this id: check it for typos.",
}
OUTCOME_WORDS: dict[str, str] = {
    RETRY: "Meta had a temporary problem; try again in a minute.",
    SLOW_DOWN: "Meta is limiting how often this can be asked; try again in a few minutes.",
    SKIP_TODAY: "Meta refused the request for today; try again tomorrow.",
    REVOKE_CONSENT: "Meta refused the request.",
    FAIL: "Meta refused the request.",
}
NO_ANSWER_WORDS = "Meta did not answer ({detail}); check the connection and try again."


def plain_words(error: GraphError) -> str:
    """What a Graph error means, for a person: what went wrong and what to do next (Meta's own words added)."""
    if error.http_status == 0:
        return NO_ANSWER_WORDS.format(detail=error.message.split(":")[0])
    words = CODE_WORDS.get(error.code) if error.code is not None else None
    code = f" (code {error.code})" if error.code is not None else f" (HTTP {error.http_status})"
    return f"{words or OUTCOME_WORDS[error.outcome]} Meta said: “{error.message}”{code}."


def outcome_for(*, http_status: int, code: int | None = None) -> Outcome:
    """The outcome of an error answer; `http_status` 0 is a transport failure (no answer at all)."""
    if http_status == 429:  # Meta's own throughput signal, whatever the code says
        return SLOW_DOWN
    if code in CODE_OUTCOMES:
        return CODE_OUTCOMES[code]
    if http_status == 0 or http_status >= 500:
        return RETRY
    return FAIL


def code_outcome(code: int | None) -> Outcome | None:
    """The outcome a code alone decides (a failed status webhook carries a code but no HTTP status)."""
    return CODE_OUTCOMES.get(code) if code is not None else None


def resendable(outcome: Outcome) -> bool:
    """Whether the same request may go out again soon (after a backoff or a throughput hold)."""
    return outcome in (RETRY, SLOW_DOWN)


def error_fields(body: object, http_status: int, reason: str = "") -> tuple[int | None, str]:
    """(code, message) of a Graph error body; a proxy's HTML page or an odd body gives (None, reason)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    return code, str(error.get("message") or reason or f"HTTP {http_status}")[:500]


class GraphError(Exception):
    """A request Meta did not accept; `outcome` says what the sender does next."""

    def __init__(self, code: int | None, http_status: int, message: str, outcome: Outcome):
        self.code = code
        self.http_status = http_status
        self.message = message
        self.outcome = outcome
        super().__init__(f"{code or http_status}: {message}")

    @property
    def retryable(self) -> bool:
        return resendable(self.outcome)
