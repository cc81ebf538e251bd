"""The load benchmark's verdict: money read back from the server must equal the prediction
to the unit, and every unit brought in must be in a wallet or in fee revenue."""

from obolo.entrypoints.bench.load_bench import Books, invariants

PREDICTED = Books({"ann": (9_000_000, 1_000_000), "bob": (10_950_000, 0)}, fees=50_000, topped_up=20_000_000)


def failed(observed: Books) -> list[str]:
    return [check.name for check in invariants(PREDICTED, observed) if not check.ok]


def test_books_equal_to_the_prediction_pass_every_check():
    """The prediction read back as it is: every check holds."""
    assert failed(PREDICTED) == []


def test_a_wallet_one_unit_off_fails_the_wallet_check_and_the_sum():
    """One unit more in one wallet is caught by the wallet check and by the sum of money."""
    observed = Books({"ann": (9_000_001, 1_000_000), "bob": (10_950_000, 0)}, 50_000, 20_000_000)
    assert failed(observed) == [
        "each of 2 wallets: balance and reserve as predicted",
        "money in = wallets + fee revenue",
    ]
    assert (
        "ann: predicted 9000000 (reserved 1000000), found (9000001, 1000000)"
        in invariants(PREDICTED, observed)[0].detail
    )


def test_a_reserve_one_unit_off_fails_the_wallet_check_alone():
    """Money moved between available and reserved, the total unchanged: still a mismatch."""
    observed = Books({"ann": (9_000_000, 999_999), "bob": (10_950_000, 0)}, 50_000, 20_000_000)
    assert failed(observed) == ["each of 2 wallets: balance and reserve as predicted"]


def test_fees_or_card_money_one_unit_off_fail_their_checks():
    """A unit of fee too few, or a top-up the answers never reported, is caught."""
    assert failed(Books(PREDICTED.people, 49_999, 19_999_999)) == [
        "fee revenue as predicted",
        "money in by cards = successful top-ups",
    ]
    assert failed(Books(PREDICTED.people, 50_000, 20_000_001)) == [
        "money in by cards = successful top-ups",
        "money in = wallets + fee revenue",
    ]


def test_a_person_missing_from_the_server_fails():
    """A predicted person the server does not know is a mismatch, not a skip."""
    assert failed(Books({"ann": (9_000_000, 1_000_000)}, 50_000, 20_000_000)) == [
        "each of 2 wallets: balance and reserve as predicted",
        "money in = wallets + fee revenue",
    ]
