"""The wallet API end to end in-process: sign up, top up, pay, withdraw, history,
statement; idempotency; authorization; every bad input refused with nothing moved."""

from __future__ import annotations

import csv
import io
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.ledger.check import check_ledger
from obolo.settings import FeeRule, Settings

CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
IBAN = "DE89 3704 0044 0532 0130 00"
PASSWORD = "a long enough password"


@pytest.fixture
def platform(db_url, clock):
    settings = Settings(
        fees={"payment": FeeRule(basis_points=100), "topup": FeeRule(), "withdrawal": FeeRule()}
    )
    built = build(settings, url=db_url, clock=clock, migrate=True)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


def sign_up(client, email, phone=None) -> dict:
    body = {"email": email, "password": PASSWORD, "display_name": email.split("@")[0].title()}
    if phone:
        body["phone"] = phone
    user = client.post("/v1/users", json=body)
    assert user.status_code == 201, user.text
    session = client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
    assert session.status_code == 201, session.text
    return {"id": user.json()["id"], "headers": {"Authorization": f"Bearer {session.json()['token']}"}}


@pytest.fixture
def alice(client):
    return sign_up(client, "alice@example.com", "+393331234567")


@pytest.fixture
def bob(client):
    return sign_up(client, "bob@example.com")


def balances(client, person) -> dict[str, dict[str, str]]:
    response = client.get("/v1/wallets", headers=person["headers"])
    assert response.status_code == 200, response.text
    return {w["asset"]: w for w in response.json()}


def top_up(client, person, amount="10.00", key=None):
    headers = dict(person["headers"], **({"Idempotency-Key": key} if key else {}))
    return client.post("/v1/topups", json={"amount": amount, "asset": "EUR", "card": CARD}, headers=headers)


def money_snapshot(platform) -> list[tuple]:
    with platform.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending "
                "FROM ledger_accounts ORDER BY id"
            )
        ]


def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_a_person_tops_up_pays_withdraws_and_reads_history(client, alice, bob):
    """The whole path through HTTP, with exact decimal strings at every step."""
    assert top_up(client, alice).status_code == 201
    paid = client.post(
        "/v1/payments",
        json={"to": "bob@example.com", "amount": "1.50", "asset": "EUR", "note": "pizza"},
        headers=alice["headers"],
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["amount"], paid.json()["fee"]) == ("1.500000", "0.015000")
    withdrawn = client.post(
        "/v1/withdrawals", json={"amount": "2.00", "asset": "EUR", "iban": IBAN}, headers=alice["headers"]
    )
    assert withdrawn.status_code == 201, withdrawn.text
    assert withdrawn.json()["status"] == "succeeded"
    assert balances(client, alice)["EUR"] == {"asset": "EUR", "available": "6.485000", "reserved": "0.000000"}
    assert balances(client, bob)["EUR"]["available"] == "1.500000"
    history = client.get("/v1/transactions?limit=2", headers=alice["headers"]).json()
    shown = lambda page: [(t["status"], t["amount"], t["reserved"], t["description"]) for t in page]  # noqa: E731
    assert shown(history["data"]) == [
        ("settled", "-2.000000", "-2.000000", "Withdrawal to DE89 **** 3000"),
        ("reserved", "0.000000", "2.000000", "Reserved: withdrawal to DE89 **** 3000"),
    ]
    rest = client.get(
        f"/v1/transactions?limit=3&cursor={history['next_cursor']}", headers=alice["headers"]
    ).json()
    assert shown(rest["data"]) == [
        ("posted", "-0.015000", "0.000000", "Fee for payment to Bob"),
        ("posted", "-1.500000", "0.000000", "Payment to Bob: pizza"),
        ("posted", "10.000000", "0.000000", "Top-up by Visa 4242"),
    ]
    assert rest["data"][1]["counterparty"] == "Bob"
    assert rest["next_cursor"] is None
    statement = client.get("/v1/statements.csv?asset=EUR", headers=alice["headers"])
    assert statement.status_code == 200
    rows = list(csv.DictReader(io.StringIO(statement.text)))
    assert [r["amount"] for r in rows] == ["10.000000", "-1.500000", "-0.015000", "-2.000000"]
    assert rows[-1]["balance"] == "6.485000"


def test_retry_with_the_same_idempotency_key_replays_and_moves_nothing(client, platform, alice):
    """Same key and body: the first response again, marked replayed; no second charge."""
    first = top_up(client, alice, key="topup-1")
    snapshot = money_snapshot(platform)
    again = top_up(client, alice, key="topup-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert money_snapshot(platform) == snapshot


def test_reusing_a_key_with_another_body_is_refused(client, platform, alice):
    """Same key, different body: 422 idempotency_key_reused, nothing moved."""
    top_up(client, alice, key="k")
    snapshot = money_snapshot(platform)
    assert_problem(top_up(client, alice, amount="11.00", key="k"), 422, "idempotency_key_reused")
    assert money_snapshot(platform) == snapshot


def test_concurrent_requests_with_one_key_move_money_once(client, platform, alice, bob):
    """Ten simultaneous retries of one payment: one payment, every answer the same."""
    top_up(client, alice)
    headers = dict(alice["headers"], **{"Idempotency-Key": "same"})
    body = {"to": bob["id"], "amount": "1.00", "asset": "EUR"}
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/payments", json=body, headers=headers), range(10)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert balances(client, bob)["EUR"]["available"] == "1.000000"


def test_double_spend_over_http(client, alice, bob):
    """20 concurrent payments from a wallet affording 7: exactly 7 succeed."""
    top_up(client, alice, amount="7.07")
    body = {"to": bob["id"], "amount": "1.00", "asset": "EUR"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda _: client.post("/v1/payments", json=body, headers=alice["headers"]), range(20))
        )
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 7
    assert all(a.json()["code"] == "insufficient_funds" for a in answers if a.status_code != 201)
    assert balances(client, alice)["EUR"]["available"] == "0.000000"


BAD_AMOUNTS = [
    ("-1.00", "invalid_amount"),
    ("0", "invalid_amount"),
    ("0.00", "invalid_amount"),
    ("1e3", "invalid_amount"),
    ("0.1234567", "too_many_decimals"),
    ("NaN", "invalid_amount"),
    ("Infinity", "invalid_amount"),
    ("1" + "0" * 30, "amount_out_of_range"),
    ("1,00", "invalid_amount"),
    (" ", "invalid_amount"),
]


@pytest.mark.parametrize(("amount", "code"), BAD_AMOUNTS)
@pytest.mark.parametrize("endpoint", ["/v1/topups", "/v1/payments", "/v1/withdrawals"])
def test_bad_amounts_are_refused_and_move_nothing(client, platform, alice, bob, endpoint, amount, code):
    """Every money POST refuses malformed, negative, zero, over-precise and huge amounts."""
    top_up(client, alice)
    snapshot = money_snapshot(platform)
    body = {
        "/v1/topups": {"amount": amount, "asset": "EUR", "card": CARD},
        "/v1/payments": {"to": bob["id"], "amount": amount, "asset": "EUR"},
        "/v1/withdrawals": {"amount": amount, "asset": "EUR", "iban": IBAN},
    }[endpoint]
    response = client.post(endpoint, json=body, headers=alice["headers"])
    assert response.status_code in (400, 422), response.text
    assert response.json()["code"] in {code, "validation_error", "amount_out_of_limits"}
    assert money_snapshot(platform) == snapshot


@pytest.mark.parametrize(
    "body",
    [
        {"to": "b", "amount": 1.5, "asset": "EUR"},  # a JSON number: floats are refused
        {"to": "b", "amount": "1.00", "asset": "XXX"},
        {"to": "b", "amount": "1.00"},
        {"to": "b", "amount": "1.00", "asset": "EUR", "extra": 1},
        {"to": ["b"], "amount": "1.00", "asset": "EUR"},
        {"to": "b", "amount": "1.00", "asset": "EUR", "note": "x" * 281},
    ],
)
def test_malformed_payment_bodies_are_refused(client, platform, alice, body):
    """Wrong types, unknown asset, missing or extra fields, over-long notes: 422, nothing moved."""
    top_up(client, alice)
    snapshot = money_snapshot(platform)
    response = client.post("/v1/payments", json=body, headers=alice["headers"])
    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"validation_error", "unknown_asset"}
    assert money_snapshot(platform) == snapshot


def test_malformed_json_and_huge_bodies_are_refused(client, platform, alice):
    """Broken JSON is 422; a 1 MB body is 413 before anything reads it."""
    snapshot = money_snapshot(platform)
    headers = dict(alice["headers"], **{"Content-Type": "application/json"})
    assert_problem(
        client.post("/v1/payments", content=b"{not json", headers=headers), 422, "validation_error"
    )
    huge = b'{"to": "' + b"x" * 1_000_000 + b'"}'
    assert_problem(client.post("/v1/payments", content=huge, headers=headers), 413, "payload_too_large")
    assert money_snapshot(platform) == snapshot


def test_nobody_reads_or_moves_another_persons_money(client, platform, alice, bob):
    """Without credentials, or with someone else's movement id: 401/404 and nothing moves."""
    top_up(client, alice)
    movement = client.get("/v1/transactions", headers=alice["headers"]).json()["data"][0]["id"]
    assert client.get(f"/v1/transactions/{movement}", headers=bob["headers"]).status_code == 404
    snapshot = money_snapshot(platform)
    for method, path, body in [
        ("get", "/v1/wallets", None),
        ("post", "/v1/topups", {"amount": "1.00", "asset": "EUR", "card": CARD}),
        ("post", "/v1/payments", {"to": bob["id"], "amount": "1.00", "asset": "EUR"}),
        ("post", "/v1/withdrawals", {"amount": "1.00", "asset": "EUR", "iban": IBAN}),
        ("get", "/v1/transactions", None),
        ("get", "/v1/statements.csv", None),
    ]:
        response = client.request(method, path, json=body, headers={"Authorization": "Bearer not-a-token"})
        assert_problem(response, 401, "unauthorized")
    assert money_snapshot(platform) == snapshot


def test_api_key_scopes_limit_what_a_program_can_do(client, platform, alice, bob):
    """A read-only key reads balances but cannot pay: 403 insufficient_scope, nothing moved."""
    top_up(client, alice)
    key = client.post(
        "/v1/api-keys", json={"name": "reader", "scopes": ["wallets:read"]}, headers=alice["headers"]
    )
    assert key.status_code == 201, key.text
    reader = {"Authorization": f"Bearer {key.json()['secret']}"}
    assert client.get("/v1/wallets", headers=reader).status_code == 200
    snapshot = money_snapshot(platform)
    response = client.post(
        "/v1/payments", json={"to": bob["id"], "amount": "1.00", "asset": "EUR"}, headers=reader
    )
    assert_problem(response, 403, "insufficient_scope")
    assert money_snapshot(platform) == snapshot


def test_declined_card_is_a_clear_error(client, platform, alice):
    """The sandbox's declining card answers card_declined with the reason; nothing moves."""
    snapshot = money_snapshot(platform)
    card = dict(CARD, number="4000 0000 0000 0002")
    response = client.post(
        "/v1/topups", json={"amount": "5.00", "asset": "EUR", "card": card}, headers=alice["headers"]
    )
    assert_problem(response, 402, "card_declined")
    assert money_snapshot(platform) == snapshot


def test_openapi_describes_every_money_endpoint(client):
    """The OpenAPI document lists the money endpoints with Idempotency-Key."""
    spec = client.get("/openapi.json").json()
    for path in ("/v1/topups", "/v1/payments", "/v1/withdrawals"):
        parameters = {p["name"] for p in spec["paths"][path]["post"].get("parameters", [])}
        assert "Idempotency-Key" in parameters


def test_unknown_movement_ids_are_not_found(client, alice):
    """A well-formed id that does not exist is 404 not_found."""
    assert_problem(client.get(f"/v1/transactions/{uuid.uuid4()}", headers=alice["headers"]), 404, "not_found")


def test_transactions_filter_by_kind_direction_asset_and_refuse_bad_input(client, alice, bob):
    """GET /v1/transactions keeps only the asked kind, direction and asset; a foreign
    cursor or an unknown asset is a 4xx with a stable code, and lists nothing of Bob's."""
    assert top_up(client, alice).status_code == 201
    paid = client.post(
        "/v1/payments",
        json={"to": "bob@example.com", "amount": "1.50", "asset": "EUR"},
        headers=alice["headers"],
    )
    assert paid.status_code == 201
    get = lambda query, who=alice: client.get(f"/v1/transactions?{query}", headers=who["headers"])  # noqa: E731
    fees = get("kind=fee").json()["data"]
    assert [(t["amount"], t["description"]) for t in fees] == [("-0.015000", "Fee for payment to Bob")]
    assert [t["amount"] for t in get("direction=in").json()["data"]] == ["10.000000"]
    assert get("asset=USD").json() == {"data": [], "next_cursor": None}
    assert [t["description"] for t in get("", bob).json()["data"]] == ["Payment from Alice"]
    assert_problem(get("cursor=bm90LW91cnM"), 422, "invalid_request")
    assert_problem(get("asset=XXX"), 422, "unknown_asset")
    assert [t["available"] for t in get("").json()["data"]] == ["-0.015000", "-1.500000", "10.000000"]
