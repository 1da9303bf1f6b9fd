"""What a SQLite file holds, told from its tables without writing to it.

Shared by the two packages that own a store (`search/store/` the Optuna storage, `tracking/` the
MLflow database) so that each refuses the other's file by name: a study pointed at `mlflow.db`
hears "is an MLflow tracking database" before either library creates its tables in it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from mi_search.errors import UserError
from mi_search.filekind import check_regular

OPTUNA_STORAGE, MLFLOW_STORE = "Optuna study storage", "MLflow tracking database"
# Tables every store of each kind has: a SQLite file without them belongs to something else.
STORE_TABLES = {
    OPTUNA_STORAGE: frozenset({"studies", "trials", "version_info"}),
    MLFLOW_STORE: frozenset({"experiments", "runs", "alembic_version"}),
}


def check_store_kind(url: str, flag: str, kind: str, example: str) -> None:
    """Refuse, without writing to it, a SQLite file that holds another store than `kind` (the other one, or neither)."""
    tables = sqlite_tables(url)
    if not tables or STORE_TABLES[kind] <= tables:
        return
    other = next((name for name, marks in STORE_TABLES.items() if marks <= tables), None)
    found = f"is an {other}" if other else f"holds another database (tables {', '.join(sorted(tables)[:3])})"
    raise UserError(f"{flag} {url} {found}; give the {kind} or a new file, e.g. {example}")


# Damaged pages are found before a run by SQLite's own check, which reads the whole file: done up to this
# size (studies and tracking stores of thousands of trials are a few MB), skipped above it to keep starts quick.
QUICK_CHECK_MAX_BYTES = 256 << 20


def sqlite_tables(url: str) -> set[str]:
    """The tables of the SQLite file `url` names, read without writing to it; empty for other URLs and new files."""
    if not url.startswith("sqlite:///"):
        return set()
    path = Path(url.removeprefix("sqlite:///").split("?")[0])
    if path.is_dir():
        raise UserError(f"{url} names the folder {path}; give a database file in it, e.g. sqlite:///{path}/NAME.db")
    check_regular(path, "SQLite store", "give a database file, e.g. sqlite:///mi-search.db")  # a FIFO would hang
    if not path.is_file() or path.stat().st_size == 0:
        return set()
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            damage = "ok"
            if path.stat().st_size <= QUICK_CHECK_MAX_BYTES:  # reads every page once: milliseconds for a study
                damage = db.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:  # not a database at all, or a damaged header
        raise UserError(f"{path} is not a SQLite database ({exc}); give another path") from None
    if damage != "ok":
        found = " ".join(damage.replace("*** in database main ***", "").split())  # SQLite's report spans lines
        raise UserError(f"{path} is a damaged SQLite database ({found}); restore it from a copy or give another path")
    return tables
