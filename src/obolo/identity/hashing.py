"""The Argon2id parameters secrets are hashed with (passwords, SMS PINs, recovery codes).

RFC 9106's second recommended option by default (3 passes over 64 MiB, 4 lanes: about 50 ms
on one core). A deployment may raise them for its hardware (OBOLO_PASSWORD_TIME_COST,
OBOLO_PASSWORD_MEMORY_KIB, OBOLO_PASSWORD_PARALLELISM); `obolo serve` says so at start when
they are set below the recommendation, which only a test bench should do. Hashes keep their
own parameters, so changing them leaves every stored hash verifiable."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from obolo.settings import Settings

RECOMMENDED = RFC_9106_LOW_MEMORY


def password_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.password_time_cost,
        memory_cost=settings.password_memory_kib,
        parallelism=settings.password_parallelism,
    )


def below_recommended(settings: Settings) -> bool:
    return (
        settings.password_time_cost < RECOMMENDED.time_cost
        or settings.password_memory_kib < RECOMMENDED.memory_cost
    )
