"""The HR roster: every employee's names, id, login, email and extension.

CSV columns (header required): ``employee_id,first_name,last_name,login,email,extension``.
Everything in it identifies a colleague (or the recorded agent) and is always redacted."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from anonymizer.errors import ConfigError

COLUMNS = ("employee_id", "first_name", "last_name", "login", "email", "extension")


@dataclass(frozen=True)
class Employee:
    employee_id: str
    first_name: str
    last_name: str
    login: str
    email: str
    extension: str

    def values(self) -> list[tuple[str, str]]:
        """(entity_type, value) pairs to look for, longest first."""
        out = [
            ("PERSON", f"{self.first_name} {self.last_name}".strip()),
            ("PERSON", f"{self.last_name} {self.first_name}".strip()),
            ("EMAIL_ADDRESS", self.email),
            ("EMPLOYEE_ID", self.employee_id),
            ("LOGIN", self.login),
            ("EXTENSION", self.extension),
            ("PERSON", self.last_name),
            ("PERSON", self.first_name),
        ]
        return [(t, v) for t, v in out if v and len(v.strip()) >= 2]


def load_roster(path: Path | None) -> list[Employee]:
    if path is None:
        return []
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise ConfigError(f"roster is missing column(s) {', '.join(missing)}", path=path)
            out = []
            for line_no, row in enumerate(reader, start=2):
                clean = {c: (row.get(c) or "").strip() for c in COLUMNS}
                if not clean["employee_id"] or not (clean["first_name"] or clean["last_name"]):
                    raise ConfigError(f"roster line {line_no}: employee_id and a name are required", path=path)
                out.append(Employee(**clean))
            return out
    except FileNotFoundError as exc:
        raise ConfigError("roster file not found", path=path) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"roster is not a UTF-8 CSV file: {exc}", path=path) from exc
