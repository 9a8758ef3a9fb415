"""Raw tables from a SQL database: a table or a query through a SQLAlchemy URL.

Every value becomes text as the other raw readers give it: NULL is ``""``, text stays as
stored, an integer is its digits, a whole float has no ``.0`` and another float its
shortest exact text, a date or timestamp is ISO 8601. Row N is the N-th row of the result.

A relative SQLite path (``sqlite:///db.sqlite``) is taken from the raw folder, like a raw
file, and must exist (SQLite would otherwise create an empty database). The connection is
closed without committing, so a statement can change nothing. Passwords in a URL are never
shown in messages.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError

from .headers import check_unique_names


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:                                  # unparseable: show only the scheme
        return url.split(":", 1)[0] + ":..."


def _resolve(url: str, base: Path | None):
    """The URL as a SQLAlchemy URL; a relative SQLite file is taken from ``base``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as err:
        raise InputError(f"not a database URL ({err}); e.g. sqlite:///raw.sqlite or "
                         "postgresql://user@host/db", file=_safe_url(url),
                         rule="RAW-SQL") from err
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise InputError("an SQLite URL must name a database file", file=_safe_url(url),
                             rule="RAW-SQL")
        file = Path(database)
        if not file.is_absolute() and base is not None:
            file = base / file
        if not file.is_file():
            raise InputError("SQLite database file not found", file=file, rule="RAW-MISSING")
        parsed = parsed.set(database=str(file))
    return parsed


def value_texts(column: np.ndarray) -> np.ndarray:
    """Database values as text (see the module documentation); converted once per
    distinct value, so a long column of few values is cheap."""
    import datetime as dt

    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, float):
            if value != value:                         # NaN
                return ""
            return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return value.isoformat()
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8", errors="replace")
        return str(value)                              # int, Decimal, ...

    codes, uniques = pd.factorize(pd.Series(column, dtype=object), use_na_sentinel=False)
    return np.array([text(u) for u in uniques], dtype=object)[codes]


def read_sql_table(url: str, *, query: str | None = None, table: str | None = None,
                   base: Path | None = None) -> pd.DataFrame:
    """The rows of ``table`` or of ``query`` at database ``url``, every value as text.

    Raises :class:`InputError` [RAW-SQL] for a bad URL, a missing driver, a failed
    connection, a missing table or a failing query, naming the URL (password hidden).
    """
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    if (query is None) == (table is None):
        raise InputError("a SQL raw table needs exactly one of `query:` or `table:`",
                         file=_safe_url(url), rule="RAW-SQL")
    shown = _safe_url(url)
    parsed = _resolve(url, base)
    try:
        engine = sa.create_engine(parsed)
    except Exception as err:                           # e.g. driver not installed
        raise InputError(f"cannot use the database URL: {err}", file=shown,
                         rule="RAW-SQL") from err
    try:
        with engine.connect() as conn:                 # rolled back on close
            if table is not None:
                try:
                    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
                except sa.exc.NoSuchTableError:
                    names = sa.inspect(conn).get_table_names()
                    raise InputError(f"no table {table!r} in the database (tables: "
                                     f"{', '.join(names[:20]) or 'none'})", file=shown,
                                     rule="RAW-SQL") from None
                result = conn.execute(sa.select(reflected))
            else:
                result = conn.execute(sa.text(query))
            if not result.returns_rows:
                raise InputError("the query returns no rows (is it a SELECT?)", file=shown,
                                 rule="RAW-SQL")
            names = [str(k) for k in result.keys()]
            rows = result.fetchall()
    except InputError:
        raise
    except SQLAlchemyError as err:
        detail = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise InputError(f"the database refused the {'table' if table else 'query'}: "
                         f"{detail}", file=shown, rule="RAW-SQL") from err
    finally:
        engine.dispose()
    check_unique_names(names, file=shown, what="result column", fix="give one an alias")
    values = np.empty((len(rows), len(names)), dtype=object)
    if rows:
        values[:] = [tuple(r) for r in rows]
    frame = pd.DataFrame({name: value_texts(values[:, i]) for i, name in enumerate(names)},
                         columns=names)
    frame.attrs["controls"] = True
    return frame
