"""Import: row accounting, quarantine, upsert, malformed files, transactions."""

from __future__ import annotations

import json

import pytest

from analytics.errors import ExportFormatError, ImportNotFoundError, MappingError, StorageFullError
from analytics.ingest import (
    delete_import,
    import_file,
    import_history,
    preview_file,
    quarantine_rows,
)

HEADER = "case_id,created_at,updated_at,subject,description,status,country,queue,priority\n"


def _rows(n, start=0, updated="2026-01-02 10:00:00", subject="Account hacked"):
    return "".join(
        f"C{i},2026-01-01 10:{i % 60:02d}:00,{updated},{subject} {i},text {i},open,BR,High Risk,high\n"
        for i in range(start, start + n)
    )


def _count(con, sql="SELECT count(*) FROM cases", params=None):
    return con.execute(sql, params or []).fetchone()[0]


def _identity(result):
    return (
        result.rows_read == result.inserted + result.updated + result.unchanged + result.quarantined
    )


def test_import_counts_and_types(con, write_csv):
    path = write_csv("a.csv", HEADER + _rows(5))
    result = import_file(con, path)
    assert (result.rows_read, result.inserted, result.quarantined) == (5, 5, 0)
    row = con.execute(
        "SELECT created_at, status, region, country, priority, sla_due_at FROM cases WHERE case_id='C1'"
    ).fetchone()
    assert str(row[0]) == "2026-01-01 10:01:00"
    assert row[1:5] == ("open", "LATAM", "BR", "high")
    # High Risk, high priority: 12 h SLA target from config when the export has no due date.
    assert str(row[5]) == "2026-01-01 22:01:00"
    assert import_history(con).iloc[0]["inserted"] == 5


def test_reimport_is_idempotent_and_newer_wins(con, write_csv):
    first = write_csv("a.csv", HEADER + _rows(4))
    import_file(con, first)
    again = import_file(con, first)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    newer = write_csv(
        "b.csv",
        HEADER + _rows(2, updated="2026-01-05 10:00:00", subject="Changed") + _rows(2, start=10),
    )
    result = import_file(con, newer)
    assert (result.inserted, result.updated, result.unchanged) == (2, 2, 0)
    assert _count(con) == 6
    assert con.execute("SELECT subject FROM cases WHERE case_id='C0'").fetchone()[0] == "Changed 0"
    older = write_csv("c.csv", HEADER + _rows(2, updated="2025-12-31 10:00:00", subject="Stale"))
    result = import_file(con, older)
    assert (result.updated, result.unchanged) == (0, 2)
    assert con.execute("SELECT subject FROM cases WHERE case_id='C0'").fetchone()[0] == "Changed 0"
    assert _count(con, "SELECT count(DISTINCT case_id) FROM cases") == _count(con)


def test_quarantine_keeps_raw_row_and_reason(con, write_csv):
    content = (
        HEADER
        + _rows(2)
        + (
            ",2026-01-01 10:00:00,,no id,x,open,BR,,\n"
            "C9,31/31/2026,,bad date,x,open,BR,,\n"
            "C8,2026-01-01 10:00:00,,,,open,BR,,\n"
            "C7,1999-01-01 10:00:00,,too old,x,open,BR,,\n"
        )
    )
    result = import_file(con, write_csv("q.csv", content))
    assert (result.inserted, result.quarantined) == (2, 4)
    q = quarantine_rows(con, result.import_id)
    reasons = " | ".join(q["reason"])
    assert "no case id" in reasons
    assert "'31/31/2026' is not a date" in reasons
    assert "neither subject nor description" in reasons
    assert "implausible" in reasons
    raw = json.loads(q.loc[q["row_number"] == 4, "raw"].iloc[0])
    assert raw["created_at"] == "31/31/2026" and raw["case_id"] == "C9"


def test_duplicate_ids_in_one_file_keep_newest(con, write_csv):
    content = (
        HEADER + "D1,2026-01-01 10:00,2026-01-01 11:00,old,x,open,BR,,\n"
        "D1,2026-01-01 10:00,2026-01-03 11:00,new,x,open,BR,,\n"
    )
    result = import_file(con, write_csv("d.csv", content))
    assert (result.inserted, result.quarantined) == (1, 1)
    assert con.execute("SELECT subject FROM cases").fetchone()[0] == "new"
    q = quarantine_rows(con)
    assert "duplicate case id D1" in q["reason"].iloc[0]
    assert json.loads(q["raw"].iloc[0])["subject"] == "old"


def test_malformed_csv_records_are_quarantined_not_imported(con, write_csv):
    content = (
        HEADER
        + _rows(3)
        + "X1,2026-01-01 10:00,,a,b,open,BR,,,extra,fields\n"
        + 'X2,2026-01-01 10:00,,"unterminated\n'
    )
    result = import_file(con, write_csv("m.csv", content))
    assert _identity(result)
    assert result.inserted == 3 and result.quarantined == 2
    reasons = set(quarantine_rows(con)["reason"])
    assert any("more fields than the header" in r for r in reasons)
    assert any("never closed" in r for r in reasons)


def test_multiline_fields_bom_and_semicolons(con, write_csv):
    content = '\ufeffcase_id;created_at;subject;description\nM1;2026-02-01 10:00;Hello;"line one\nline two; still"\n'
    result = import_file(con, write_csv("ml.csv", content))
    assert result.inserted == 1 and result.delimiter == ";"
    assert con.execute("SELECT description FROM cases").fetchone()[0] == "line one\nline two; still"


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "latin-1"])
def test_encodings_are_detected(con, write_csv, encoding):
    content = HEADER + "E1,2026-01-01 10:00,,Ação café,señor naïve,open,BR,,\n"
    result = import_file(con, write_csv("e.csv", content, encoding=encoding))
    assert result.inserted == 1
    assert con.execute("SELECT subject, description FROM cases").fetchone() == (
        "Ação café",
        "señor naïve",
    )


def test_timezones_offsets_and_default_zone(con, write_csv):
    content = "case_id,created_at,subject\nT1,2026-03-14T10:00:00+02:00,a\nT2,2026-03-14T10:00:00Z,b\nT3,2026-03-14 10:00:00,c\n"
    path = write_csv("tz.csv", content)
    import_file(con, path, timezone="America/Sao_Paulo")
    got = dict(con.execute("SELECT case_id, created_at::VARCHAR FROM cases").fetchall())
    assert got == {
        "T1": "2026-03-14 08:00:00",
        "T2": "2026-03-14 10:00:00",
        "T3": "2026-03-14 13:00:00",
    }  # São Paulo is UTC-3


def test_day_first_dates_detected(con, write_csv):
    content = "case_id,created_at,subject\nA,03/02/2026 10:00,x\nB,25/02/2026 10:00,y\n"
    import_file(con, write_csv("dmy.csv", content))
    got = dict(con.execute("SELECT case_id, created_at::DATE::VARCHAR FROM cases").fetchall())
    assert got == {"A": "2026-02-03", "B": "2026-02-25"}


def test_formula_cells_are_stored_verbatim(con, write_csv):
    content = HEADER + 'F1,2026-01-01 10:00,,"=HYPERLINK(""http://x"",""y"")",+cmd,open,BR,,\n'
    import_file(con, write_csv("f.csv", content))
    assert con.execute("SELECT subject, description FROM cases").fetchone() == (
        '=HYPERLINK("http://x","y")',
        "+cmd",
    )


def test_huge_field_is_quarantined(con, write_csv):
    huge = "x" * (9 * 1024 * 1024)
    content = HEADER + _rows(1) + f"H1,2026-01-01 10:00,,big,{huge},open,BR,,\n" + _rows(1, start=5)
    result = import_file(con, write_csv("h.csv", content))
    assert (result.inserted, result.quarantined) == (2, 1)
    assert "larger than 8 MB" in quarantine_rows(con)["reason"].iloc[0]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (HEADER.encode(), "header but no data rows"),
        (b"case_id;created_at;subject\n1;2026-01-01;x\n", None),  # fine: ; is detected
    ],
)
def test_empty_and_header_only_files(con, write_csv, content, message):
    path = write_csv("x.csv", content)
    if message is None:
        assert import_file(con, path).inserted == 1
        return
    with pytest.raises(ExportFormatError, match=message):
        import_file(con, path)
    assert _count(con) == 0 and _count(con, "SELECT count(*) FROM imports") == 0


def test_wrong_delimiter_gives_clear_mapping_error(con, write_csv):
    path = write_csv("w.csv", "case_id;created_at;subject\n1;2026-01-01;x\n")
    with pytest.raises(MappingError, match="delimiter"):
        import_file(con, path, delimiter=",")
    assert _count(con) == 0


def test_missing_required_columns(con, write_csv):
    with pytest.raises(MappingError, match="creation time"):
        import_file(con, write_csv("r.csv", "case_id,subject\n1,x\n"))


def test_truncated_file_loses_only_the_cut_record(con, write_csv):
    full = (HEADER + _rows(20)).encode()
    path = write_csv("t.csv", full[: len(full) - 25])
    result = import_file(con, path)
    assert _identity(result)
    assert result.inserted + result.quarantined == 20
    assert result.inserted >= 19


def test_failed_import_leaves_database_unchanged(con, write_csv, monkeypatch):
    import_file(con, write_csv("ok.csv", HEADER + _rows(3)))
    before = con.execute("SELECT count(*), sum(hash(case_id, subject)) FROM cases").fetchone()

    import analytics.ingest as ingest

    def boom(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(ingest, "_quarantine", boom)
    with pytest.raises(StorageFullError, match="database is unchanged"):
        import_file(
            con,
            write_csv(
                "new.csv",
                HEADER + _rows(2, updated="2026-02-01 10:00", subject="New") + _rows(3, start=50),
            ),
        )
    assert (
        con.execute("SELECT count(*), sum(hash(case_id, subject)) FROM cases").fetchone() == before
    )
    assert _count(con, "SELECT count(*) FROM imports") == 1
    assert _count(con, "SELECT count(*) FROM case_versions") == 0


def test_delete_import_restores_previous_versions(con, write_csv):
    first = import_file(con, write_csv("1.csv", HEADER + _rows(3)))
    second = import_file(
        con,
        write_csv(
            "2.csv",
            HEADER + _rows(1, updated="2026-03-01 10:00", subject="Edited") + _rows(1, start=7),
        ),
    )
    assert second.updated == 1 and second.inserted == 1
    delete_import(con, second.import_id)
    assert _count(con) == 3
    assert (
        con.execute("SELECT subject FROM cases WHERE case_id='C0'").fetchone()[0]
        == "Account hacked 0"
    )
    assert import_history(con).set_index("import_id").loc[second.import_id, "status"] == "deleted"
    with pytest.raises(ImportNotFoundError):
        delete_import(con, second.import_id)
    delete_import(con, first.import_id)
    assert _count(con) == 0


def test_unmapped_columns_and_unparsed_values_are_kept(con, write_csv):
    content = "case_id,created_at,subject,first_response_at,Custom thing\nU1,2026-01-01 10:00,x,not a date,keep me\n"
    result = import_file(con, write_csv("u.csv", content))
    assert result.warnings == 1
    extra = json.loads(con.execute("SELECT extra FROM cases").fetchone()[0])
    assert extra == {"Custom thing": "keep me", "_unparsed": {"first_response_at": "not a date"}}


def test_preview_writes_nothing(con, write_csv):
    path = write_csv("p.csv", HEADER + _rows(3) + ",2026-01-01,,x,y,open,BR,,\n")
    preview = preview_file(con, path)
    assert (preview.rows_checked, preview.valid, preview.invalid) == (4, 3, 1)
    assert preview.preset == "generic" and "case_id" in preview.mapping.columns
    assert _count(con) == 0 and _count(con, "SELECT count(*) FROM imports") == 0


def test_na_region_and_country_survive(con, write_csv):
    # pandas would read "NA" as missing; our importer must not (North America, Namibia).
    content = (
        "case_id,created_at,subject,region,country\nN1,2026-01-01,x,NA,US\nN2,2026-01-01,y,,NA\n"
    )
    import_file(con, write_csv("na.csv", content))
    got = dict(con.execute("SELECT case_id, region || '/' || country FROM cases").fetchall())
    assert got == {"N1": "NA/US", "N2": "EMEA/NA"}


def test_roles_enforced_in_the_importer(con, write_csv):
    from analytics.access import User
    from analytics.errors import PermissionDeniedError

    path = write_csv("r.csv", HEADER + _rows(2))
    with pytest.raises(PermissionDeniedError, match="viewer"):
        import_file(con, path, user=User("vic", "viewer"))
    with pytest.raises(PermissionDeniedError):
        import_file(con, path, user=User("ana", "analyst"))
    result = import_file(con, path, user=User("adm", "admin"))
    assert import_history(con).iloc[0]["user_name"] == "adm"
    with pytest.raises(PermissionDeniedError):
        delete_import(con, result.import_id, User("ana", "analyst"))
    assert _count(con) == 2
