"""Configuration from the environment."""

from obolo.settings import FeeRule, Settings


def test_fee_schedule_comes_from_the_environment(monkeypatch):
    """OBOLO_FEES sets basis points and fixed units per kind of movement."""
    monkeypatch.setenv("OBOLO_FEES", "payment=100:0, withdrawal=0:250000")
    fees = Settings.from_environment().fees
    assert fees["payment"] == FeeRule(100, 0)
    assert fees["withdrawal"] == FeeRule(0, 250_000)
    assert fees["topup"] == FeeRule()
