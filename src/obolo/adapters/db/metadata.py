"""The one SQLAlchemy `metadata` every table is declared on, and the column helpers the
table modules share. `schema` (the platform's tables) and each product's `schema_*` module
import it from here, so none of them imports another to find it."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def id_column(name: str, *args: object, **kwargs: object) -> Column[bytes]:
    """A 128-bit id as 16 big-endian bytes (sorts like the integer it is)."""
    return Column(name, LargeBinary(16), *args, **kwargs)  # type: ignore[arg-type]


__all__ = ["NAMING", "id_column", "metadata"]
