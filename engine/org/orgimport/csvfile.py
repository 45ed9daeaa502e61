"""Read an organisation from a folder of four CSV files, the format docs/organisation.md describes.

`skolenheter.csv`, `personal.csv` (one row per person and role at a unit), `elever.csv` and
`vardnadshavare.csv` (one row per guardian and pupil). UTF-8 with or without a byte-order mark, `;` or
`,` between fields (whichever the header line uses), Swedish column names in any case, with or without
å/ä/ö and hyphens ("E-post" = "epost"). Every problem names the file and line.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..roles import ROLES, role_for_lane
from .model import GuardianIn, Organisation, OrganiserIn, Problems, PupilIn, StaffIn, UnitIn, Where

# file -> column -> required
COLUMNS: dict[str, dict[str, bool]] = {
    "skolenheter.csv": {"skolenhetskod": True, "namn": True, "huvudman": False, "id": False},
    "personal.csv": {"id": True, "anvandarnamn": True, "fornamn": True, "efternamn": True, "epost": False,
                     "eppn": False, "skolenhetskod": False, "roll": True},
    "elever.csv": {"id": True, "fornamn": True, "efternamn": True, "skolenhetskod": True, "klass": False,
                   "mentor": False, "skyddad": False},
    "vardnadshavare.csv": {"id": True, "fornamn": True, "efternamn": True, "epost": False, "telefon": False,
                           "elev": True, "skyddad": False},
}
ORGANISATION_WIDE_ROLES = {"huvudman", "processagare"}  # an empty skolenhetskod: at every unit
ALL_UNITS = "*"
_FOLD = str.maketrans("åäöéü", "aaoeu")


@dataclass
class Row:
    where: Where
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")

    def optional(self, column: str) -> str | None:
        return self.values.get(column) or None


def column_key(header: str) -> str:
    """A header cell as a column name: lower case, å/ä/ö folded, only letters and digits."""
    return "".join(ch for ch in header.strip().casefold().translate(_FOLD) if ch.isalnum())


def read_rows(path: Path, problems: Problems) -> list[Row] | None:
    """The data rows of one CSV file, checked against its columns; problems are recorded, not raised.
    None if the file cannot be read at all (missing, not UTF-8, or a header with wrong columns)."""
    name, columns = path.name, COLUMNS[path.name]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.add(name, "file missing (a file with only the header line means: none of this kind)")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        problems.add(Where(name, line), "not UTF-8 text; in Excel, save as \"CSV UTF-8\"")
        return None
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [column_key(cell) for cell in next(reader, [])]
    before = len(problems)
    for i, key in enumerate(header):
        if key not in columns:
            problems.add(Where(name, 1), f"unknown column {key or '(empty)'!r}; "
                                         f"columns: {', '.join(columns)}")
        elif key in header[:i]:
            problems.add(Where(name, 1), f"column {key!r} appears twice")
    for key, required in columns.items():
        if required and key not in header:
            problems.add(Where(name, 1), f"missing column {key!r}")
    if len(problems) > before:
        return None
    rows: list[Row] = []
    last_line = reader.line_num
    for record in reader:
        where = Where(name, last_line + 1)
        last_line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.add(where, f"{len(record)} fields, but the header has {len(header)} "
                                f"(separator {delimiter!r}; quote values that contain it)")
            continue
        values = {key: cell.strip() for key, cell in zip(header, record, strict=True)}
        nul = [key for key, value in values.items() if "\x00" in value]
        if nul:
            problems.add(where, f"{', '.join(map(repr, nul))}: a NUL character, which no record can hold")
            continue
        for key, required in columns.items():
            if required and key in values and not values[key]:
                problems.add(where, f"empty {key!r}")
        rows.append(Row(where, values))
    return rows


def read_csv_folder(folder: Path) -> Organisation:
    """Read and check the four files in FOLDER; raise OrganisationImportError listing every problem."""
    problems = Problems()
    model = Organisation(source=f"CSV {folder}")
    read = {name: read_rows(folder / name, problems) for name in COLUMNS}
    rows = {name: found for name, found in read.items() if found is not None}
    if len(rows) < len(read):
        problems.raise_if_any()  # checking references against a file not read would only add noise
    _units(model, rows["skolenheter.csv"], problems)
    _staff(model, rows["personal.csv"], problems)
    _pupils(model, rows["elever.csv"], problems)
    _guardians(model, rows["vardnadshavare.csv"], problems)
    model.check(problems)
    problems.raise_if_any()
    return model


def _units(model: Organisation, rows: list[Row], problems: Problems) -> None:
    for row in rows:
        model.add_unit(UnitIn(row["skolenhetskod"], row["namn"], row.where, row.optional("id")), problems)
        name = row.optional("huvudman")
        if name is None:
            continue
        if model.organiser is None:
            model.organiser = OrganiserIn(name, row.where)
        elif model.organiser.name != name:
            problems.add(row.where, f"huvudman {name!r} differs from {model.organiser.name!r} "
                                    f"({model.organiser.where}); one import is one huvudman")


def _same(first: Row, row: Row, columns: tuple[str, ...], what: str, problems: Problems) -> None:
    for column in columns:
        if first[column] != row[column]:
            problems.add(row.where, f"{column} {row[column]!r} differs from {first[column]!r} on line "
                                    f"{first.where.line} for the same {what} id {row['id']!r}")


def _email(row: Row, problems: Problems) -> str | None:
    email = row.optional("epost")
    if email is not None and "@" not in email:
        problems.add(row.where, f"epost {email!r} is not an e-mail address")
    return email


def _staff(model: Organisation, rows: list[Row], problems: Problems) -> None:
    firsts: dict[str, Row] = {}
    for row in rows:
        first = firsts.setdefault(row["id"], row)
        if first is row:
            model.add_staff(StaffIn(row["id"], row["anvandarnamn"], f"{row['fornamn']} {row['efternamn']}",
                                    row.where, _email(row, problems), row.optional("eppn")), problems)
        else:
            _same(first, row, ("anvandarnamn", "fornamn", "efternamn", "epost", "eppn"), "person", problems)
        role = role_for_lane(row["roll"])
        if role is None:
            if row["roll"]:
                problems.add(row.where, f"unknown role {row['roll']!r}; Elevflow roles: {', '.join(ROLES)}")
            continue
        unit = row["skolenhetskod"]
        if not unit:
            if role not in ORGANISATION_WIDE_ROLES:
                wide = " and ".join(sorted(ORGANISATION_WIDE_ROLES))
                problems.add(row.where, f"empty 'skolenhetskod' (only {wide} may leave it empty: "
                                        "they then hold the role at every unit)")
                continue
            unit = ALL_UNITS
        person = model.staff.get(row["id"])
        if person is None:
            continue
        if (unit, role) in person.roles:
            problems.add(row.where, f"same person, unit and role as {person.roles[(unit, role)]}")
        person.roles.setdefault((unit, role), row.where)
    for person in model.staff.values():
        for (unit, role), where in list(person.roles.items()):
            if unit == ALL_UNITS:
                del person.roles[(unit, role)]
                for code in model.units:
                    person.roles.setdefault((code, role), where)


def _yes(row: Row, column: str, problems: Problems) -> bool:
    """An optional ja/nej column (empty is nej)."""
    value = (row.optional(column) or "nej").strip().casefold()
    if value not in {"ja", "nej"}:
        problems.add(row.where, f"{column} must be ja or nej, not {value!r}")
    return value == "ja"


def _pupils(model: Organisation, rows: list[Row], problems: Problems) -> None:
    by_username = {person.username.casefold(): person.external_id for person in model.staff.values()}
    for row in rows:
        mentor = row.optional("mentor")
        if mentor is not None and mentor not in model.staff:
            mentor = by_username.get(mentor.casefold(), mentor)
        model.add_pupil(PupilIn(row["id"], row["fornamn"], row["efternamn"], row["skolenhetskod"], row.where,
                                row.optional("klass"), mentor, _yes(row, "skyddad", problems)), problems)


def _guardians(model: Organisation, rows: list[Row], problems: Problems) -> None:
    firsts: dict[str, Row] = {}
    for row in rows:
        first = firsts.setdefault(row["id"], row)
        if first is row:
            model.add_guardian(GuardianIn(row["id"], row["fornamn"], row["efternamn"], row.where,
                                          _email(row, problems), row.optional("telefon"),
                                          protected=_yes(row, "skyddad", problems)), problems)
        else:
            _same(first, row, ("fornamn", "efternamn", "epost", "telefon"), "guardian", problems)
        guardian = model.guardians.get(row["id"])
        if guardian is None or not row["elev"]:
            continue
        if row["elev"] in guardian.pupils:
            problems.add(row.where, f"same guardian and pupil as {guardian.pupils[row['elev']]}")
        guardian.pupils.setdefault(row["elev"], row.where)
