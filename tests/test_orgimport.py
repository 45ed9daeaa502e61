"""Organisation import from CSV and SS 12000: what it creates, that it is idempotent, what it reports,
and that a bad source is refused whole with every problem located."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from sqlalchemy import func, select

from elevflow.cli import Context
from elevflow.cli.organisation import import_group
from elevflow.engine.org import records as org
from elevflow.engine.org.orgimport import (
    OrganisationImportError,
    import_csv,
    import_ss12000,
    read_csv_folder,
    read_ss12000_folder,
    rolemap,
)
from elevflow.engine.org.orgimport.csvfile import COLUMNS, column_key
from elevflow.engine.org.orgimport.ss12000 import civic_birth_date
from elevflow.engine.storage.models import (
    AuditEvent,
    Guardian,
    Organiser,
    Pupil,
    PupilGuardian,
    RoleAssignment,
    SchoolUnit,
    User,
)

CSV = FIXTURES / "org" / "csv"
SS12000 = FIXTURES / "org" / "ss12000"
TODAY = date(2025, 1, 15)
NOWHERE, NOBODY = "00000000-0000-0000-0000-00000000dead", "00000000-0000-0000-0000-00000000beef"
TABLES = [Organiser, SchoolUnit, User, RoleAssignment, Pupil, Guardian, PupilGuardian]


def counts(engine) -> dict[str, int]:
    with engine.db.read() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}


def copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8-sig")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def roles_of(engine, username: str) -> set[tuple[str, str, str]]:
    with engine.db.read() as s:
        rows = s.execute(select(SchoolUnit.code, RoleAssignment.role, RoleAssignment.source)
                         .join(RoleAssignment, RoleAssignment.unit_id == SchoolUnit.id)
                         .join(User, User.id == RoleAssignment.user_id).where(User.username == username))
        return {tuple(r) for r in rows}


def test_csv_import_creates_the_whole_organisation(engine):
    report = import_csv(engine, CSV)
    c = report.counts
    assert [c[kind].added for kind in c] == [1, 2, 8, 13, 4, 3, 4]  # organiser, units, ..., guardian links
    assert "added staff kim.kurator (Kim Kurator)" in report.lines
    assert counts(engine) == {"organisers": 1, "school_units": 2, "users": 8, "role_assignments": 13,
                          "pupils": 4, "guardians": 3, "pupil_guardians": 4}
    # several roles at several units; huvudman with an empty unit holds it at every unit
    assert roles_of(engine, "lars.larare") == {("91230001", "larare", "import"), ("91230002", "larare",
                                                                                  "import"),
                                           ("91230002", "mentor", "import")}  # Cleo's mentor, at her unit
    assert {r[:2] for r in roles_of(engine, "hanna.huvudman")} == {("91230001", "huvudman"),
                                                               ("91230002", "huvudman")}
    with engine.db.read() as s:
        units = {u.code: u for u in s.scalars(select(SchoolUnit))}
        assert units["91230002"].name == "Sjöviksskolan" and units["91230002"].organiser_id is not None
        alva = s.scalars(select(Pupil).where(Pupil.external_id == "e-2001")).one()
        mentor = s.get(User, alva.mentor_id)
        assert (alva.class_name, alva.unit_id, mentor.username) == ("7A", units["91230001"].id, "maja.mentor")
        guardians = s.scalars(select(Guardian).join(PupilGuardian)
                              .where(PupilGuardian.pupil_id == alva.id)).all()
        assert sorted((g.given_name, g.phone) for g in guardians) == [("Anders", "070-765 43 21"),
                                                                       ("Anna", "070-123 45 67")]
        britt = s.scalars(select(Guardian).where(Guardian.external_id == "v-3003")).one()
        assert s.scalar(select(func.count()).where(PupilGuardian.guardian_id == britt.id)) == 2
        kim = s.scalars(select(User).where(User.username == "kim.kurator")).one()
        assert (kim.external_id, kim.email, kim.active) == ("p-1004", "kim.kurator@exempelby.se", True)
    again = import_csv(engine, CSV)
    assert not again.changed and again.lines == [] and again.summary().endswith("changed: nothing")


def test_a_changed_file_reports_exactly_the_change(engine, tmp_path):
    import_csv(engine, CSV)
    folder = copy(CSV, tmp_path)
    edit(folder / "personal.csv", "kim.kurator@exempelby.se", "kim.k@exempelby.se")
    edit(folder / "personal.csv", "p-1002;lars.larare;Lars;Lärarsson;lars.larare@exempelby.se;;91230001;"
                                  "Lärare\n", "")
    edit(folder / "elever.csv", "e-2004,Dan,Dahl,91230002,8B,", "e-2004,Dan,Dahl,91230002,9C,kim.kurator")
    edit(folder / "skolenheter.csv", "Sjöviksskolan", "Sjöviksskolan F-9")
    report = import_csv(engine, folder)
    assert report.lines == [
        "updated unit 91230002 Sjöviksskolan F-9: name 'Sjöviksskolan' → 'Sjöviksskolan F-9'",
        "updated staff kim.kurator: email 'kim.kurator@exempelby.se' → 'kim.k@exempelby.se'",
        "role mentor at Sjöviksskolan F-9 added to kim.kurator",
        "role larare at Ekbackens skola removed from lars.larare",
        "updated pupil Dan Dahl (e-2004): class_name '8B' → '9C', mentor (none) → kim.kurator",
    ]
    roles, staff = report.counts["roles"], report.counts["staff"]
    assert (roles.added, roles.removed, staff.updated) == (1, 1, 1)
    assert not import_csv(engine, folder).changed


def test_a_person_gone_from_the_source_is_deactivated_and_keeps_manual_roles(engine, tmp_path):
    with engine.db.write() as s:  # made by hand before the first import: adopted, not duplicated
        kim = org.add_user(s, "kim.kurator", "Kim K", None)
        hand_unit = org.add_unit(s, "91230001", "Ekbacken")
        org.assign_role(s, kim.id, hand_unit.id, "elevhalsopersonal")
    first = import_csv(engine, CSV)
    assert ("updated staff kim.kurator: name 'Kim K' → 'Kim Kurator', "
            "email None → 'kim.kurator@exempelby.se', external_id None → 'p-1004'") in first.lines
    assert ("updated unit 91230001 Ekbackens skola: name 'Ekbacken' → 'Ekbackens skola', "
            "huvudman (none) → Exempelby kommun") in first.lines
    assert counts(engine)["users"] == 8 and counts(engine)["school_units"] == 2
    folder = copy(CSV, tmp_path)
    text = (folder / "personal.csv").read_text(encoding="utf-8-sig")
    (folder / "personal.csv").write_text("".join(line for line in text.splitlines(keepends=True)
                                                 if not line.startswith("p-1004")), encoding="utf-8")
    report = import_csv(engine, folder)
    assert report.lines == ["deactivated staff kim.kurator (Kim Kurator): not in the source",
                            "role kurator at Ekbackens skola removed from kim.kurator",
                            "role kurator at Sjöviksskolan removed from kim.kurator"]
    assert roles_of(engine, "kim.kurator") == {("91230001", "elevhalsopersonal", "manual")}
    with engine.db.read() as s:
        assert s.scalars(select(User.active).where(User.username == "kim.kurator")).one() is False
    assert not import_csv(engine, folder).changed
    back = import_csv(engine, CSV)
    assert back.lines[0] == "updated staff kim.kurator: active False → True"
    assert back.counts["roles"].added == 2


def test_pupils_and_guardians_gone_from_the_source_are_deactivated_not_deleted(engine, tmp_path):
    import_csv(engine, CSV)
    folder = copy(CSV, tmp_path)
    edit(folder / "elever.csv", "e-2004,Dan,Dahl,91230002,8B,\n", "")
    edit(folder / "vardnadshavare.csv", "v-3003;Britt;Berg;britt.berg@example.se;;e-2003\n", "")
    edit(folder / "vardnadshavare.csv", "v-3002;Anders;Andersson;;070-765 43 21;e-2001\n", "")
    report = import_csv(engine, folder)
    assert report.lines == ["pupil Dan Dahl (e-2004) deactivated",
                            "guardian Anders Andersson (v-3002) deactivated",
                            "guardian Anders Andersson unlinked from pupil Alva Andersson",
                            "guardian Britt Berg unlinked from pupil Cleo Carlsson"]
    assert counts(engine)["pupils"] == 4 and not import_csv(engine, folder).changed
    with engine.db.read() as s:
        assert not s.scalars(select(Pupil).where(Pupil.external_id == "e-2004")).one().active
    report = import_csv(engine, CSV)  # back in the source: active again
    assert "pupil Dan Dahl (e-2004): active False → True" in " ".join(report.lines) or \
        any("Dan Dahl" in line for line in report.lines)
    with engine.db.read() as s:
        assert s.scalars(select(Pupil).where(Pupil.external_id == "e-2004")).one().active


def test_a_protected_identity_is_marked_and_the_import_is_audited(engine, tmp_path):
    folder = copy(CSV, tmp_path)
    pupils = folder / "elever.csv"
    lines = pupils.read_text(encoding="utf-8-sig").splitlines()
    marked = [line + (",skyddad" if i == 0 else ",ja" if line.startswith("e-2004,") else ",")
              for i, line in enumerate(lines) if line]
    pupils.write_text("\n".join(marked) + "\n", encoding="utf-8")
    import_csv(engine, folder)
    with engine.db.read() as s:
        marked = {p.external_id for p in s.scalars(select(Pupil).where(Pupil.protected_identity.is_(True)))}
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.kind == "organisation_imported")).all()
    assert marked == {"e-2004"}
    assert event.data["counts"]["pupils"]["added"] == 4 and "Dan" not in str(event.data)
    edit(pupils, ",,ja", ",,kanske")
    with pytest.raises(OrganisationImportError, match="skyddad must be ja or nej"):
        import_csv(engine, folder)


def test_bad_rows_give_line_numbered_errors_and_import_nothing(engine, tmp_path):
    import_csv(engine, CSV)
    before = counts(engine)
    folder = copy(CSV, tmp_path)
    edit(folder / "personal.csv", "91230001;Kurator", "91230001;Trollkarl")
    edit(folder / "personal.csv", "p-1004;kim.kurator;Kim;Kurator;kim.kurator@exempelby.se;;91230002",
         "p-1004;kim.kurator;Kimmy;Kurator;kim.kurator@exempelby.se;;91230002")
    edit(folder / "personal.csv", "p-1006;stina.skoterska;Stina;", "p-1006;stina.skoterska;;")
    edit(folder / "elever.csv", "e-2002,Bo,Berg,91230001,7A,maja.mentor", "e-2002,Bo,Berg,91239999,7A,vera")
    edit(folder / "elever.csv", "e-2004,Dan", "e-2001,Dan")
    edit(folder / "vardnadshavare.csv", ";e-2003", ";e-9999")
    with pytest.raises(OrganisationImportError) as caught:
        import_csv(engine, folder)
    assert caught.value.problems == [
        ("personal.csv, line 7: unknown role 'Trollkarl'; Elevflow roles: larare, mentor, rektor, "
         "specialpedagog, speciallarare, kurator, skolskoterska, skollakare, skolpsykolog, "
         "elevhalsopersonal, huvudman, personal, processagare"),
        "personal.csv, line 8: fornamn 'Kimmy' differs from 'Kim' on line 7 for the same person id 'p-1004'",
        "personal.csv, line 10: empty 'fornamn'",
        "elever.csv, line 3: unknown school unit '91239999' for pupil e-2002",
        "elever.csv, line 3: mentor 'vera' of pupil e-2002 is not staff",
        "elever.csv, line 5: pupil id 'e-2001' appears twice (first at elever.csv, line 2)",
        "vardnadshavare.csv, line 5: guardian v-3003: unknown pupil 'e-9999'",
    ]
    assert counts(engine) == before


def test_csv_files_excel_might_write(tmp_path):
    folder = copy(CSV, tmp_path)
    (folder / "elever.csv").write_bytes("id;fornamn;efternamn;skolenhetskod;klass;mentor\n"
                                        "e-1;Åsa;Öberg;91230001;7A;\n".encode("cp1252"))
    edit(folder / "skolenheter.csv", "Huvudman", "Huvudman;Rektor")
    edit(folder / "vardnadshavare.csv", "v-3002;Anders;Andersson;;070", "v-3002;Anders;Andersson;070")
    with pytest.raises(OrganisationImportError) as caught:
        read_csv_folder(folder)
    assert caught.value.problems == [
        "skolenheter.csv, line 1: unknown column 'rektor'; columns: skolenhetskod, namn, huvudman, id",
        "elever.csv, line 2: not UTF-8 text; in Excel, save as \"CSV UTF-8\"",
        ("vardnadshavare.csv, line 3: 5 fields, but the header has 6 (separator ';'; quote values that "
         "contain it)"),
    ]
    (folder / "elever.csv").unlink()
    with pytest.raises(OrganisationImportError, match="elever.csv: file missing"):
        read_csv_folder(folder)


def test_ss12000_import(engine):
    report = import_ss12000(engine, SS12000, today=TODAY)
    c = report.counts
    assert [c[kind].added for kind in c] == [1, 2, 7, 13, 3, 2, 3]
    # Staff with no lane of their own are still staff: they report a child at risk or a kränkning.
    assert not [note for note in report.notes if "Annan personal" in note]
    assert roles_of(engine, "vera.vaktis@solna.se") == {("12345678", "personal", "import")}
    assert ("activities.json not read: Elevflow reads organisations, persons, duties, groups, placements"
            in report.notes)
    assert roles_of(engine, "kim.kurator@solna.se") == {
        ("12345678", "kurator", "import"), ("87654321", "kurator", "import"),
        ("87654321", "larare", "import"), ("87654321", "elevhalsopersonal", "import")}
    assert {r[1] for r in roles_of(engine, "sara.specped@solna.se")} == {"specialpedagog", "speciallarare"}
    assert roles_of(engine, "stina.skoterska@solna.se") == {("87654321", "skolskoterska",
                                                             "import")}  # ended duty
    with engine.db.read() as s:
        users = {u.id: u for u in s.scalars(select(User))}
        pupils = {p.given_name.split()[0]: p for p in s.scalars(select(Pupil))}
        assert {name: (p.class_name, users[p.mentor_id].username if p.mentor_id else None)
                for name, p in pupils.items()} == {
            "Pippilotta": ("1B", "lars.larare@solna.se"),  # a Mentor assignment role on Lars's duty
            "Annika": ("7A", "maja.mentor@solna.se"),  # a Mentor group with Maja and Annika
            "Olle": (None, None)}  # a placement at fritidshem
        assert pupils["Pippilotta"].family_name == "Efraimsdotter Långstrump"
        units = {u.id: u for u in s.scalars(select(SchoolUnit))}
        assert units[pupils["Pippilotta"].unit_id].code == "87654321"  # the current enrolment only
        assert units[pupils["Pippilotta"].unit_id].organiser_id == s.scalars(select(Organiser.id)).one()
        # issue 12: where appeals are sent, and the birth date (birthDate, else the civicNo's date)
        assert {u.code: u.postal_address for u in units.values()} == {
            "12345678": "Skolgatan 1, 171 45 Solna", "87654321": None}
        assert {name: p.birth_date for name, p in pupils.items()} == {
            "Pippilotta": date(2015, 1, 1), "Annika": date(2010, 3, 4), "Olle": date(2018, 1, 1)}
        fredrik = s.scalars(select(Guardian).where(Guardian.given_name == "Fredrik")).one()
        children = s.scalars(select(Pupil.given_name).join(PupilGuardian)
                             .where(PupilGuardian.guardian_id == fredrik.id)).all()
        assert sorted(children) == ["Annika", "Olle"] and fredrik.email == "fredrik@example.se"
        rut = s.scalars(select(User).where(User.external_id == "3fa85f64-5717-4562-b3fc-2c963f66afa7")).one()
        assert (rut.username, rut.eppn, rut.name) == ("rut.rektor@solna.se", "rut.rektor@solna.se",
                                                      "Rut Rektorsson")
    assert not import_ss12000(engine, SS12000, today=TODAY).changed


def test_an_ss12000_address_or_birth_date_changes_and_a_missing_one_erases_none(engine, tmp_path):
    import_ss12000(engine, SS12000, today=TODAY)
    folder = copy(SS12000, tmp_path)
    edit(folder / "organisations.json", '"streetAddress": "Skolgatan 1"', '"streetAddress": "Box 7"')
    edit(folder / "persons.json", '"birthDate": "2010-03-04"', '"birthDate": "2010-03-05"')
    edit(folder / "persons.json", '"value": "201801011234"', '"value": "unknown"')  # Olle: no date
    report = import_ss12000(engine, folder, today=TODAY)
    assert ("updated unit 12345678 Solna Skolan: postal_address 'Skolgatan 1, 171 45 Solna' → "
            "'Box 7, 171 45 Solna'") in report.lines
    assert ("updated pupil Annika Settergren (cfd30f7a-5cbe-4079-b88a-f6cc9dda06d4): birth_date 2010-03-04 "
            "→ 2010-03-05") in report.lines
    with engine.db.read() as s:
        olle = s.scalars(select(Pupil).where(Pupil.given_name == "Olle")).one()
    assert olle.birth_date == date(2018, 1, 1)  # a source that states no date erases none


@pytest.mark.parametrize("civic_no, born", [
    ("201501011234", date(2015, 1, 1)), ("20150101-1234", date(2015, 1, 1)),
    ("150101-1234", date(2015, 1, 1)), ("150101+1234", date(1915, 1, 1)), ("991231-1234", date(1999, 12, 31)),
    ("201501611234", date(2015, 1, 1)),  # samordningsnummer: day + 60
    ("201513011234", None), ("1234", None),
])
def test_the_birth_date_in_a_civic_number(civic_no, born):
    assert civic_birth_date(civic_no, TODAY) == born


def test_a_bad_ss12000_address_or_birth_date_is_a_located_problem(tmp_path):
    def change(files):
        files["organisations"]["data"][1]["address"] = "Skolgatan 1"
        files["persons"]["persons"][0]["birthDate"] = "2015-13-01"
    problems = broken_ss12000(tmp_path, change)
    assert ("organisations.json, $.data[1].address: not an address (an object with streetAddress, "
            "postalCode, locality)") in problems
    assert "persons.json, $.persons[0].birthDate: '2015-13-01' is not a date (YYYY-MM-DD)" in problems


def broken_ss12000(tmp_path: Path, change) -> list[str]:
    folder = copy(SS12000, tmp_path)
    files = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    change(files)
    for stem, body in files.items():
        (folder / f"{stem}.json").write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(OrganisationImportError) as caught:
        read_ss12000_folder(folder, TODAY)
    return caught.value.problems


def test_broken_ss12000_is_refused_with_json_paths(tmp_path):
    def change(files):
        duties, groups = files["duties"]["data"], files["groups"]["groups"]
        persons = files["persons"]["persons"]
        duties[1]["dutyAt"]["id"] = NOWHERE
        duties[2]["dutyRole"] = "Trollkarl"
        duties.append(dict(duties[3]))
        groups[0]["groupMemberships"].append({"person": {"id": NOBODY}})
        persons[0]["responsibles"][0]["person"]["id"] = NOBODY
        del persons[4]["eduPersonPrincipalNames"]
    problems = broken_ss12000(tmp_path, change)
    assert problems[0] == ("duties.json, $.data[10]: duties id 064e4d06-a212-11ed-a8fc-0242ac120012 appears "
                           "twice (first at duties.json, $.data[3])")
    assert problems[1] == (f"duties.json, $.data[1].dutyAt: dutyAt {NOWHERE} is not among the organisations")
    assert problems[2].startswith("duties.json, $.data[2].dutyRole: unknown duty role 'Trollkarl'; "
                                  "SS 12000 duty roles: Rektor, Lärare, ")
    assert (f"groups.json, $.groups[0].groupMemberships[1].person: person {NOBODY} is not among the persons"
            in problems)
    assert ("persons.json, $.persons[4].eduPersonPrincipalNames: missing: staff log in with their EPPN"
            in problems)
    assert (f"persons.json, $.persons[0].responsibles[0].person: guardian {NOBODY} is not among the persons"
            in problems)


def test_ss12000_without_required_files_or_with_bad_json(tmp_path):
    folder = copy(SS12000, tmp_path)
    (folder / "duties.json").unlink()
    (folder / "groups.json").write_text('{"groups": [\n  {"id": 1,}\n]}', encoding="utf-8")
    with pytest.raises(OrganisationImportError) as caught:
        read_ss12000_folder(folder, TODAY)
    assert caught.value.problems[0].startswith("groups.json, line 2: not valid JSON: Expecting property name")
    assert caught.value.problems[-1] == f"{folder}: no duties.json (needed: organisations, persons, duties)"


def test_a_nul_character_in_a_csv_source_is_a_located_problem_and_imports_nothing(engine, tmp_path):
    before = counts(engine)
    folder = copy(CSV, tmp_path)
    edit(folder / "personal.csv", "p-1004;kim.kurator;Kim;Kurator;kim.kurator@exempelby.se;;91230001",
         "p-1004;kim.kurator;Ki\x00m;Kurator;kim.kurator@exempelby.se;;91230001")
    with pytest.raises(OrganisationImportError) as caught:
        import_csv(engine, folder)
    problem = "personal.csv, line 7: 'fornamn': a NUL character, which no record can hold"
    assert problem in caught.value.problems
    assert counts(engine) == before


def test_a_nul_character_or_endless_nesting_in_ss12000_is_a_located_problem(engine, tmp_path):
    def change(files):
        files["persons"]["persons"][0]["givenName"] = "Ann\x00a"
    assert "persons.json, $.persons[0]: holds a NUL character, which no record can hold" in \
        broken_ss12000(tmp_path / "nul", change)
    folder = copy(SS12000, tmp_path / "deep")
    (folder / "groups.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    before = counts(engine)
    with pytest.raises(OrganisationImportError) as caught:
        import_ss12000(engine, folder)
    assert "groups.json: nested deeper than 16 levels: not SS 12000 data" in caught.value.problems
    assert counts(engine) == before


def test_a_dry_run_reports_the_changes_and_writes_nothing(engine):
    dry = import_csv(engine, CSV, dry_run=True)
    assert dry.dry_run and dry.counts["staff"].added == 8 and "would change" in dry.summary()
    assert set(counts(engine).values()) == {0}
    assert import_csv(engine, CSV).lines == dry.lines


@click.group()
@click.option("--database")
@click.pass_context
def cli(ctx: click.Context, database: str) -> None:
    ctx.obj = Context(database)
    ctx.call_on_close(ctx.obj.close)


cli.add_command(import_group)


def test_the_cli_prints_the_report(db_url, tmp_path):
    runner = CliRunner()
    dry = runner.invoke(cli, ["--database", db_url, "import", "csv", str(CSV), "--dry-run"],
                        catch_exceptions=False)
    assert dry.exit_code == 0 and "added staff kim.kurator (Kim Kurator)" in dry.output
    assert "Dry run: nothing was written." in dry.output and "would change" in dry.output
    real = runner.invoke(cli, ["--database", db_url, "import", "csv", str(CSV)], catch_exceptions=False)
    assert real.exit_code == 0 and "staff 8 added, 0 updated, 0 removed" in real.output
    assert "Dry run" not in real.output
    again = runner.invoke(cli, ["--database", db_url, "import", "csv", str(CSV)])
    assert again.output.strip().endswith("changed: nothing")
    folder = copy(CSV, tmp_path)
    edit(folder / "elever.csv", "maja.mentor\ne-2002", "nobody\ne-2002")
    bad = runner.invoke(cli, ["--database", db_url, "import", "csv", str(folder)])
    assert bad.exit_code == 1 and "refused, nothing imported (1 problems)" in bad.output
    assert "elever.csv, line 2: mentor 'nobody' of pupil e-2001 is not staff" in bad.output
    ss = runner.invoke(cli, ["--database", db_url, "import", "ss12000", str(SS12000), "--dry-run"])
    assert ss.exit_code == 0 and "added staff rut.rektor@solna.se (Rut Rektorsson)" in ss.output
    assert "import" in runner.invoke(cli, ["import", "--help"]).output


def test_the_formats_and_the_role_mapping_are_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "organisation.md").read_text(encoding="utf-8")
    for name in [*rolemap.DUTY_ROLES, *rolemap.ASSIGNMENT_ROLES]:
        assert name in doc, name
    for file, columns in COLUMNS.items():
        section = doc.split(f"### `{file}`", 1)[1].split("\n### ", 1)[0]
        named = {column_key(cell) for cell in section.split("`")[1::2]}
        assert set(columns) <= named, (file, set(columns) - named)
