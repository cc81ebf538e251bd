"""People and access on SQLite and PostgreSQL: secrets stored hashed, throttling that
slows then locks, revocation, and keys nobody else can touch."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.adapters.db.schema import api_keys, sessions, users
from obolo.errors import NotFound, RateLimited
from obolo.identity.errors import InvalidCredentials, RoleNotSelfService, WeakPassword
from obolo.identity.model import Role
from obolo.identity.service import IdentityService
from obolo.settings import Settings

PASSWORD = "correct horse battery"
ADDRESS = "203.0.113.7"


@pytest.fixture
def identity(db_url, clock):
    engine = make_engine(db_url)
    upgrade(engine)
    # Cheap argon2 parameters keep the suite fast; production uses the library defaults.
    yield IdentityService(
        engine, clock, Settings(), PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    engine.dispose()


@pytest.fixture
def ada(identity):
    return identity.sign_up("Ada@Example.com ", PASSWORD, "Ada", "+39 333 123 4567")


def test_sign_up_normalizes_and_hashes(identity, ada):
    """Email lower-cased, phone in E.164, password stored only as an argon2id hash."""
    assert (ada.email, ada.phone, ada.roles) == (
        "ada@example.com",
        "+393331234567",
        frozenset({Role.CONSUMER}),
    )
    with identity.engine.connect() as connection:
        stored = connection.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_taken_email_or_phone_makes_no_account_and_weak_passwords_are_refused(identity, ada):
    """An email or phone already used answers like a new account but makes none (the
    owner is told instead); a weak password is refused with its own code."""
    for email, phone in (("ada@example.com", None), ("other@example.com", "+393331234567")):
        answer = identity.sign_up(email, PASSWORD, "Other", phone)
        assert (answer.email, answer.phone) == (email, phone)
        assert answer.id != ada.id
    with identity.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == 1
    with pytest.raises(WeakPassword):
        identity.sign_up("short@example.com", "short", "Short")


def test_session_tokens_are_stored_hashed_and_revocable(identity, ada):
    """The token authenticates, is not stored as such, and stops working once revoked."""
    token, _, _ = identity.sign_in("ada@example.com", PASSWORD, ADDRESS)
    assert identity.authenticate(token).user_id == ada.id
    with identity.engine.connect() as connection:
        assert token not in connection.execute(select(sessions.c.token_hash)).scalars().all()
    identity.sign_out(token)
    assert identity.authenticate(token) is None


def test_sessions_expire(identity, clock, ada):
    """A token older than the session lifetime no longer authenticates."""
    token, _, _ = identity.sign_in("ada@example.com", PASSWORD, ADDRESS)
    clock.advance(Settings().session_ttl_seconds + 1)
    assert identity.authenticate(token) is None


def test_wrong_email_and_wrong_password_look_the_same(identity, ada):
    """Both are invalid_credentials: an attacker learns nothing about who has an account."""
    with pytest.raises(InvalidCredentials) as wrong_password:
        identity.sign_in("ada@example.com", "not the password", ADDRESS)
    with pytest.raises(InvalidCredentials) as wrong_email:
        identity.sign_in("nobody@example.com", PASSWORD, "198.51.100.1")
    assert str(wrong_password.value) == str(wrong_email.value)


def test_repeated_failures_slow_down_then_lock(identity, clock, ada):
    """After 3 failures each try must wait 1, 2, 4 ... s; after 10 the account locks for
    15 minutes, even for the right password; after the lock it works again."""
    settings = Settings()
    waits, failures = [], 0
    while failures < settings.login_lock_after:
        try:
            identity.sign_in("ada@example.com", "wrong password!", ADDRESS)
        except InvalidCredentials:
            failures += 1
        except RateLimited as limited:
            waits.append(limited.retry_after)
            clock.advance(limited.retry_after)
    assert waits == [1, 2, 4, 8, 16, 32, 64]
    with pytest.raises(RateLimited) as locked:
        identity.sign_in("ada@example.com", PASSWORD, "198.51.100.9")
    assert locked.value.retry_after > 60
    clock.advance(settings.login_lock_seconds + 1)
    token, _, _ = identity.sign_in("ada@example.com", PASSWORD, "198.51.100.9")
    assert identity.authenticate(token).user_id == ada.id


def test_one_address_trying_many_accounts_is_throttled(identity, clock):
    """Failures are counted per address too, so spraying many emails slows down."""
    for number in range(Settings().login_slow_after):
        with pytest.raises(InvalidCredentials):
            identity.sign_in(f"user{number}@example.com", "whatever password", ADDRESS)
    with pytest.raises(RateLimited):
        identity.sign_in("fresh@example.com", "whatever password", ADDRESS)


def test_api_keys_are_hashed_scoped_and_revocable(identity, ada):
    """A key's secret is shown once, stored hashed, carries its scopes, and dies on revoke."""
    key, secret = identity.create_api_key(ada.id, "reader", ["wallets:read"])
    principal = identity.authenticate(secret)
    assert principal.user_id == ada.id
    assert principal.allows("wallets:read")
    assert not principal.allows("payments:write")
    with identity.engine.connect() as connection:
        stored = connection.execute(select(api_keys.c.secret_hash, api_keys.c.prefix)).one()
    assert secret not in stored.secret_hash
    assert [k.prefix for k in identity.list_api_keys(ada.id)] == [key.prefix]
    identity.revoke_api_key(ada.id, key.id)
    assert identity.authenticate(secret) is None


def test_nobody_revokes_someone_elses_key(identity, ada):
    """Another user's key id is not found, and the key keeps working."""
    bob = identity.sign_up("bob@example.com", PASSWORD, "Bob")
    key, secret = identity.create_api_key(ada.id, "mine", ["*"])
    with pytest.raises(NotFound):
        identity.revoke_api_key(bob.id, key.id)
    assert identity.authenticate(secret) is not None


def test_a_forged_key_with_a_real_prefix_is_refused(identity, ada):
    """Knowing a key's prefix is not enough: the secret is compared in full."""
    key, secret = identity.create_api_key(ada.id, "mine", ["*"])
    assert identity.authenticate(f"obo_{key.prefix}_{'A' * 43}") is None
    assert identity.authenticate(secret[:-1] + ("B" if secret[-1] != "B" else "C")) is None


def test_operator_is_not_self_service(identity, ada):
    """Anyone may become a provider; only an operator grant makes an operator."""
    assert Role.PROVIDER in identity.add_role(ada.id, Role.PROVIDER).roles
    with pytest.raises(RoleNotSelfService):
        identity.add_role(ada.id, Role.OPERATOR)
    assert Role.OPERATOR in identity.grant_role("ada@example.com", Role.OPERATOR).roles


@pytest.mark.parametrize(
    "variant",
    ["ADA@EXAMPLE.COM", "\uff21\uff24\uff21@example.com", "ada\uff20\uff45xample.com", "ada@EXAMPLE.com "],
)
def test_an_address_typed_another_way_is_the_same_account(identity, ada, variant):
    """Case, width and Unicode variants of a taken address are that address: sign-up makes
    no second account (it answers as for a new one, see the invitations tests), and sign-in
    with the variant finds the account."""
    twin = identity.sign_up(variant, PASSWORD, "Twin")
    assert twin.id != ada.id
    _, _, user = identity.sign_in(variant, PASSWORD, ADDRESS)
    assert user.id == ada.id
    with identity.engine.connect() as connection:
        assert connection.execute(select(users.c.email)).scalars().all() == ["ada@example.com"]
