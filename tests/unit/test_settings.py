"""Configuration from the environment."""

from obolo.settings import FeeRule, Settings


def test_fee_schedule_comes_from_the_environment(monkeypatch):
    """OBOLO_FEES sets basis points and fixed units per kind of movement."""
    monkeypatch.setenv("OBOLO_FEES", "payment=100:0, withdrawal=0:250000")
    fees = Settings.from_environment().fees
    assert fees["payment"] == FeeRule(100, 0)
    assert fees["withdrawal"] == FeeRule(0, 250_000)
    assert fees["topup"] == FeeRule()


def test_the_egress_allow_list_is_empty_unless_set(monkeypatch):
    """No internal host by default; OBOLO_EGRESS_ALLOW names what is; bad entries stop a start."""
    import pytest

    from obolo.bootstrap import build

    monkeypatch.delenv("OBOLO_EGRESS_ALLOW", raising=False)
    assert Settings.from_environment().egress_allow == ""
    monkeypatch.setenv("OBOLO_EGRESS_ALLOW", "127.0.0.1,localhost:8001")
    assert Settings.from_environment().egress_allow == "127.0.0.1,localhost:8001"
    with pytest.raises(ValueError, match="OBOLO_EGRESS_ALLOW"):
        build(Settings(egress_allow="http://bad"), url="sqlite://")
