"""Sign-in throttling under concurrency, on SQLite and PostgreSQL: a burst of guesses in
parallel gets no more password checks than the lock allows, because each try is counted
before its password is checked."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.adapters.db.schema import login_attempts, sessions
from obolo.errors import RateLimited
from obolo.identity.errors import InvalidCredentials
from obolo.identity.service import IdentityService
from obolo.settings import Settings

PASSWORD = "correct horse battery"
ALLOWANCE = 10  # the lock's allowance: no slow-down before it, so the burst meets only the lock


class CountingHasher(PasswordHasher):
    """Argon2 at its cheapest that counts every password check and makes each one take as
    long as a real one, so parallel tries overlap as they do in production."""

    def __init__(self, check_seconds: float = 0.15) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.check_seconds = check_seconds
        self.checks = 0
        self.enough = threading.Event()  # set once the allowance has been checked
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.checks += 1
            if self.checks >= ALLOWANCE:
                self.enough.set()
        time.sleep(self.check_seconds)
        return super().verify(hash, password)


@pytest.fixture
def service(db_url, clock):
    engine = make_engine(db_url, pool_size=50) if "postgresql" in db_url else make_engine(db_url)
    upgrade(engine)
    settings = Settings(login_slow_after=ALLOWANCE, login_lock_after=ALLOWANCE)
    yield IdentityService(engine, clock, settings, CountingHasher())
    engine.dispose()


def _attempt(service: IdentityService, password: str, address: str) -> str:
    try:
        service.sign_in("ada@example.com", password, address)
    except InvalidCredentials:
        return "wrong"
    except RateLimited:
        return "limited"
    return "signed in"


def test_a_burst_of_parallel_guesses_gets_no_more_checks_than_the_lock_allows(service):
    """40 tries at once against one account, each from its own address: at most the lock's
    allowance of passwords is checked, and the right password sent after the allowance is
    spent (in the middle of the burst) does not sign in."""
    service.sign_up("ada@example.com", PASSWORD, "Ada")
    hasher = service.hasher
    assert isinstance(hasher, CountingHasher)
    hasher.checks = 0
    start = threading.Barrier(19)

    def wrong(number: int) -> str:
        if number < 19:
            start.wait()
        return _attempt(service, f"wrong guess number {number}", f"198.51.100.{number}")

    def right() -> str:
        assert hasher.enough.wait(10)  # the first guesses are being checked
        return _attempt(service, PASSWORD, "203.0.113.99")

    with ThreadPoolExecutor(max_workers=40) as pool:
        before = [pool.submit(wrong, n) for n in range(19)]
        middle = pool.submit(right)
        assert hasher.enough.wait(10)
        after = [pool.submit(wrong, n) for n in range(19, 39)]
        outcomes = [f.result() for f in before] + [middle.result()] + [f.result() for f in after]

    assert hasher.checks <= ALLOWANCE, outcomes
    assert middle.result() == "limited"
    assert outcomes.count("limited") == 40 - hasher.checks
    with service.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(sessions)).scalar_one() == 0


def test_a_successful_sign_in_costs_its_address_nothing(service):
    """Each try is counted before the check; a right password gives its address's count back,
    so people signing in from one shared address never lock it by succeeding."""
    service.sign_up("ada@example.com", PASSWORD, "Ada")
    for _ in range(ALLOWANCE + 5):
        service.sign_in("ada@example.com", PASSWORD, "192.0.2.1")
    with service.engine.connect() as connection:
        rows = connection.execute(select(login_attempts.c.key, login_attempts.c.failures)).all()
    assert [(key, failures) for key, failures in rows if failures] == []


def test_failures_from_one_address_still_count_after_a_success_from_it(service):
    """Giving back a successful try's count leaves the address's earlier failures standing."""
    service.sign_up("ada@example.com", PASSWORD, "Ada")
    service.sign_up("bob@example.com", PASSWORD, "Bob")
    for _ in range(ALLOWANCE - 1):
        with pytest.raises(InvalidCredentials):
            service.sign_in("bob@example.com", "not bob's password", "192.0.2.7")
    service.sign_in("ada@example.com", PASSWORD, "192.0.2.7")
    with pytest.raises(InvalidCredentials):
        service.sign_in("carol@example.com", "not carol's password", "192.0.2.7")
    with pytest.raises(RateLimited):
        service.sign_in("ada@example.com", PASSWORD, "192.0.2.7")


def test_spelling_the_address_otherwise_does_not_dodge_its_lock(service):
    """Failures count against the address's normal form: case, width and composition
    variants of one email share one count and one lock."""
    service.sign_up("ada@example.com", PASSWORD, "Ada")
    spellings = ["ada@example.com", "ADA@example.com", "\uff41\uff44\uff41@example.com", "ada@EXAMPLE.COM"]
    for number in range(ALLOWANCE):
        with pytest.raises(InvalidCredentials):
            service.sign_in(spellings[number % len(spellings)], "a wrong guess", f"198.51.100.{number}")
    with pytest.raises(RateLimited):
        service.sign_in("ada@example.com", PASSWORD, "203.0.113.50")
