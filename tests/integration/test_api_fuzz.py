"""Schemathesis against the app's own OpenAPI, in process over ASGI, on SQLite and PostgreSQL:
every operation, signed in as a person with every role, on a platform with real ids to aim
at, positive and negative data, with every one of schemathesis's checks (the document is the
API: statuses, content types, bodies, what is accepted and what refused). No answer is a 5xx,
every refusal is problem+json with a stable code, and the books still balance afterwards.

`make test` runs a few examples per operation; `make fuzz` (OBOLO_FUZZ=1) many more."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup
from schemathesis.specs.openapi.checks import RejectedPositiveData

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.ledger.check import check_ledger
from obolo.settings import Settings
from tests.integration.api_world import PASSWORD, bearer, cheap_hashing, populate

EXAMPLES = int(os.environ.get("OBOLO_FUZZ_EXAMPLES") or (300 if os.environ.get("OBOLO_FUZZ") else 4))
ADMIN_TOKEN = "fuzz-admin-token-0123456789"


@dataclasses.dataclass
class Findings:
    problems: list[str] = dataclasses.field(default_factory=list)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)

    def add(self, case, response, why: str) -> None:
        body = response.text[:300]
        self.problems.append(
            f"{case.operation.label}: {why} (status {response.status_code}) {body}\n"
            f"    path={case.path_parameters} query={case.query} body={case.body!r:.300}"
        )


def check_answer(case, response, findings: Findings) -> None:
    status = response.status_code
    findings.statuses[status] += 1
    if status >= 500:
        findings.add(case, response, "server error")
    elif 400 <= status < 500:
        content_type = "".join(response.headers.get("content-type", []))
        if not content_type.startswith("application/problem+json"):
            findings.add(case, response, f"a refusal as {content_type!r}, not problem+json")
            return
        code = response.json().get("code")
        if not isinstance(code, str) or not code:
            findings.add(case, response, "a problem without a code")


#: Refusals of schema-valid requests that depend on the world, not on the request's shape,
#: so no schema can rule them out (each with why); any other refusal of valid data is a defect
#: of the document. Only `positive_data_acceptance` is excused, and only for these codes.
STATE_REFUSALS = {
    "insufficient_funds": "the balance a wallet holds",
    "amount_out_of_limits": "per-payment and daily limits, set by configuration",
    "invalid_amount": "zero is a valid minimum or price, not a valid payment; one amount shape serves both",
    "unknown_asset": "which assets exist is the platform's configuration",
    "card_declined": "the card processor's answer",
    "invalid_card": "a card number's checksum and expiry against today",
    "invalid_iban": "an IBAN's checksum",
    "cannot_pay_yourself": "who is calling",
    "invalid_email": "email syntax beyond a pattern (the sign-up service checks it)",
    "invalid_phone": "a phone number's numbering plan",
    "weak_password": "password strength",
    "invalid_url": "where a webhook may point (egress rules)",
    "unknown_event_type": "the event catalogue",
    "role_not_self_service": "which roles a person may take",
    "over_consent_limit": "the reader's consent and caps",
    "no_consent": "the reader's consent",
    "invalid_channel": "a channel's signed state",
    "invalid_pass": "a pass's signed state",
    "invalid_view_receipt": "a provider's MAC over a view",
    "invalid_request": "dates and cursors checked against each other and the clock",
    "invalid_task": "a task's terms against each other and the clock",
    "invalid_review": "which assignments a review names",
    "invalid_answer": "what the task asks for",
    "invalid_payout_settings": "the payout schedule and minimum against the asset",
    "reason_required": "a rejection's reason, required by the decision chosen",
    "idempotency_key_reused": "a key already used with another body",
    "invalid_tap": "a tap's signature and card",
    "invalid_terminal": "a terminal's mode against its merchant",
    "invalid_merchant": "a merchant's kind and limits",
    "invalid_card_uid": "a card UID's encoding",
    "charge_id_reused": "a charge id already used",
    "not_refundable": "a charge's age and state",
    "tap_id_reused": "a tap id already used",
    "invalid_code": "a one-time code sent by SMS",
    "invalid_credentials": "who exists and their password",
    "amount_mismatch": "the payment request's own amount, which the payer was shown",
    "invalid_refund": "a payment request's state and what is left of it to refund",
    "invalid_payment_request": "line items adding up to the amount, and the platform's per-request limit",
    "invalid_return_url": "a return URL on the origin of the merchant's site",
    "wrong_password": "the account's current password",
    "invalid_two_factor_code": "a code from the person's authenticator app",
    "two_factor_not_enabled": "whether two-factor sign-in is on",
    "two_factor_already_enabled": "whether two-factor sign-in is on",
    "balance_not_zero": "the money an account holds when it is closed",
}


#: Refusals of schema-violating requests that schemathesis does not count as refusals (its
#: list of statuses leaves them out), each with why it is one all the same.
OTHER_REFUSALS = {
    (413, "payload_too_large"): "the body limit, documented on every operation, is met before the "
    "schema is read: a body too long for it (a list past its maxItems) is refused, never read",
}


def excused(case, response, failure) -> bool:
    """Whether a failure is a positive case refused for a state the schema cannot express,
    or a negative case refused with a status schemathesis does not list."""
    try:
        problem = response.json()
    except ValueError:
        return False
    code = problem.get("code") if isinstance(problem, dict) else None
    if isinstance(failure, AcceptedNegativeData):
        return (response.status_code, code) in OTHER_REFUSALS
    return isinstance(failure, RejectedPositiveData) and code in STATE_REFUSALS


def fuzz_operation(platform, operation, strategy, headers, findings: Findings) -> None:
    """Send `EXAMPLES` generated cases of one operation, noting every bad answer."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        sent = headers
        if operation.path == "/v1/sessions/current":
            # Signing out would sign the fuzzer out of every later call: use a session of its own.
            # (Through the service, from an address of its own: fuzzed sign-ins get throttled.)
            token, _, _ = platform.identity.sign_in("fuzzer@example.com", PASSWORD, "fuzz-sign-out")
            sent = bearer(token)
        try:
            response = case.call(headers=sent)
        except Exception as error:  # the app raised instead of answering: a 500 to a client
            findings.problems.append(
                f"{operation.label}: raised {error!r:.300}\n    {case.as_curl_command()}"
            )
            return
        check_answer(case, response, findings)
        try:
            case.validate_response(response, headers=sent, transport_kwargs={"headers": sent})
        except FailureGroup as group:
            for failure in group.exceptions:
                if not excused(case, response, failure):
                    findings.add(case, response, f"{type(failure).__name__}: {failure.title}")

    run()


@pytest.mark.slow
def test_no_operation_answers_5xx_or_refuses_without_a_code(db_url, monkeypatch):
    """Generated requests (valid and invalid) to every operation never get a 5xx; every
    4xx is problem+json with a `code`; and the ledger check passes after the run."""
    monkeypatch.setenv("OBOLO_ADMIN_TOKEN", ADMIN_TOKEN)
    platform = build(
        dataclasses.replace(Settings.from_environment(), sms_auth_token="fuzz-sms-token"),
        url=db_url,
        migrate=True,
    )
    cheap_hashing(platform)
    app = create_app(platform)
    with TestClient(app, raise_server_exceptions=False) as client:
        me = populate(client, platform, "fuzzer@example.com", operator=True)
        other = populate(client, platform, "other@example.com")
    # A person's own ids and someone else's: both are worth aiming at.
    ids = {name: st.sampled_from([me.ids[name], other.ids[name]]) for name in me.ids}
    # The fuzzer is an operator: freezing itself would refuse every later money path.
    ids["user_id"] = st.just(other.ids["user_id"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    findings = Findings()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "the schema lost its operations"
    for operation in operations:
        names = [parameter.name for parameter in operation.path_parameters]
        aimed = st.fixed_dictionaries({name: ids[name] for name in names if name in ids})
        strategy = st.one_of(
            aimed.flatmap(lambda fixed, op=operation: op.as_strategy(path_parameters=fixed)),
            operation.as_strategy(),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )
        headers = bearer(ADMIN_TOKEN) if operation.path.startswith("/v1/ledger/") else me.headers
        fuzz_operation(platform, operation, strategy, headers, findings)
    problems = findings.problems
    print(f"fuzzed {len(operations)} operations, answers by status: {sorted(findings.statuses.items())}")
    assert sum(n for status, n in findings.statuses.items() if status < 300) > len(operations), (
        "hardly anything got through: the fuzzer is not reaching the money paths"
    )
    assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(sorted(set(problems))[:40])
    assert check_ledger(platform.engine) == []
    platform.close()
