"""The one error taxonomy: every listed Graph code, and what an answer without one means."""

import pytest

from apps.meta import errors
from apps.meta.batch import classify
from apps.meta.errors import CODE_OUTCOMES, code_outcome, outcome_for, resendable

EXPECTED = {
    1: "retry",
    2: "retry",
    131000: "retry",
    4: "slow_down",
    17: "slow_down",
    32: "slow_down",
    613: "slow_down",
    80007: "slow_down",
    130429: "slow_down",
    131049: "skip_today",
    131050: "revoke_consent",
    100: "fail",
    190: "fail",
    131026: "fail",
    131047: "fail",
    132000: "fail",
    132001: "fail",
    132005: "fail",
    132007: "fail",
    132012: "fail",
    132015: "fail",
    132016: "fail",
}


def test_the_table_is_exactly_the_listed_codes():
    assert CODE_OUTCOMES == EXPECTED


@pytest.mark.parametrize(("code", "outcome"), sorted(EXPECTED.items()))
def test_every_listed_code_maps_to_its_outcome(code, outcome):
    assert outcome_for(http_status=400, code=code) == outcome
    assert code_outcome(code) == outcome


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_an_unknown_4xx_fails(status):
    assert outcome_for(http_status=status, code=None) == "fail"
    assert outcome_for(http_status=status, code=999999) == "fail"


@pytest.mark.parametrize("status", [0, 500, 502, 503, 504])
def test_5xx_and_transport_failures_retry(status):
    assert outcome_for(http_status=status) == "retry"


def test_429_slows_down_whatever_the_code():
    assert outcome_for(http_status=429) == "slow_down"
    assert outcome_for(http_status=429, code=131049) == "slow_down"


def test_a_code_without_a_status_is_decided_by_the_code_alone():
    assert (code_outcome(None), code_outcome(999999)) == (None, None)


def test_only_retry_and_slow_down_are_resent():
    assert [o for o in ("retry", "slow_down", "skip_today", "revoke_consent", "fail") if resendable(o)] == [
        "retry",
        "slow_down",
    ]


def test_graph_error_carries_its_outcome():
    error = errors.GraphError(131050, 400, "stopped", errors.REVOKE_CONSENT)
    assert (error.retryable, str(error)) == (False, "131050: stopped")
    assert errors.GraphError(None, 503, "down", errors.RETRY).retryable is True


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 130429, "throttled"),
        (429, None, "throttled"),
        (400, 131049, "marketing_limit"),
        (400, 131050, "opted_out"),
        (500, None, "retry"),
        (400, 131000, "retry"),
        (400, 131026, "failed"),
        (400, None, "failed"),
    ],
)
def test_the_batch_sender_reads_the_same_table(status, code, kind):
    body = {"error": {"code": code, "message": "m"}} if code is not None else {}
    outcome = classify(7, status, body)
    assert (outcome.kind, outcome.code) == (kind, str(code if code is not None else status))


def test_error_fields_tolerates_odd_bodies():
    assert errors.error_fields("<html>", 502, "Bad Gateway") == (None, "Bad Gateway")
    assert errors.error_fields({"error": {"code": "4", "message": "x"}}, 400) == (None, "x")
    assert errors.error_fields({}, 400) == (None, "HTTP 400")


# --------------------------------------------------------------------------- plain words (Settings' check)
def test_plain_words_name_the_code_then_quote_meta():
    error = errors.GraphError(190, 401, "Invalid OAuth access token", errors.FAIL)
    assert errors.plain_words(error) == (
        "Meta refused the access token: it is invalid or has expired. Paste a new token and save. "
        "Meta said: “Invalid OAuth access token” (code 190)."
    )


def test_plain_words_fall_back_on_the_outcome_and_the_status():
    assert errors.plain_words(errors.GraphError(None, 503, "Service Unavailable", errors.RETRY)) == (
        "Meta had a temporary problem; try again in a minute. Meta said: “Service Unavailable” (HTTP 503)."
    )
    assert errors.plain_words(errors.GraphError(4, 400, "Application request limit reached", errors.SLOW_DOWN)) == (
        "Meta is limiting how often this can be asked; try again in a few minutes. "
        "Meta said: “Application request limit reached” (code 4)."
    )


def test_plain_words_for_no_answer_say_which():
    no_answer = errors.GraphError(None, 0, "timeout: ReadTimeout", errors.RETRY)
    assert errors.plain_words(no_answer) == "Meta did not answer (timeout); check the connection and try again."


def test_every_outcome_has_words():
    assert set(errors.OUTCOME_WORDS) == {errors.RETRY, errors.SLOW_DOWN, errors.SKIP_TODAY, errors.REVOKE_CONSENT,
                                         errors.FAIL}  # fmt: skip
