"""The cost passwords and PINs are hashed at: RFC 9106's recommendation unless a deployment
says otherwise, and every hash carrying its own parameters."""

from __future__ import annotations

from argon2 import extract_parameters

from obolo.identity.hashing import RECOMMENDED, below_recommended, password_hasher
from obolo.settings import Settings


def test_a_deployment_that_says_nothing_hashes_at_rfc_9106s_recommended_cost():
    defaults = Settings()
    hashed = extract_parameters(password_hasher(defaults).hash("correct horse battery"))
    assert (hashed.time_cost, hashed.memory_cost, hashed.parallelism) == (
        RECOMMENDED.time_cost,
        RECOMMENDED.memory_cost,
        RECOMMENDED.parallelism,
    )
    assert hashed.type.name == "ID"
    assert not below_recommended(defaults)


def test_the_cost_is_read_from_the_environment_and_a_lower_one_is_told(monkeypatch):
    monkeypatch.setenv("OBOLO_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("OBOLO_PASSWORD_MEMORY_KIB", "2048")
    monkeypatch.setenv("OBOLO_PASSWORD_PARALLELISM", "2")
    settings = Settings.from_environment()
    hashed = extract_parameters(password_hasher(settings).hash("correct horse battery"))
    assert (hashed.time_cost, hashed.memory_cost, hashed.parallelism) == (1, 2048, 2)
    assert below_recommended(settings)


def test_a_hash_made_at_one_cost_still_verifies_at_another():
    cheap = password_hasher(Settings(password_time_cost=1, password_memory_kib=1024, password_parallelism=1))
    stored = cheap.hash("correct horse battery")
    assert password_hasher(Settings()).verify(stored, "correct horse battery")
