from obolo.ledger import Account, AccountFlags, Transfer, TransferResult
from obolo.ledger.check import check_ledger


def test_a_posted_transfer_moves_money_and_the_books_balance(ledger):
    """A transfer debits one account and credits the other by exactly its amount."""
    ledger.create_accounts(
        [Account(1, "EUR", 1), Account(2, "EUR", 10, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)]
    )
    assert ledger.create_transfers([Transfer(10, 1, 2, 100, "EUR", 1)]) == [TransferResult.OK]
    source, wallet = ledger.lookup_accounts([1, 2])
    assert (source.debits_posted, wallet.credits_posted) == (100, 100)
    assert check_ledger(ledger.engine) == []
