"""Presets map their real-format samples; auto-detection; user mapping files."""

from __future__ import annotations

import pytest

from analytics.errors import MappingError, UnknownPresetError
from analytics.ingest import import_file
from analytics.presets import Mapping, detect_preset, load_mapping_file, resolve
from tests.conftest import SAMPLES, SHARED


def _case(con, case_id, cols="*"):
    return con.execute(f"SELECT {cols} FROM cases WHERE case_id = ?", [case_id]).df().iloc[0]


@pytest.mark.parametrize(
    "file, preset",
    [
        ("zendesk_tickets.csv", "zendesk"),
        ("salesforce_cases.csv", "salesforce"),
        ("salesforce_cases_report.xlsx", "salesforce"),
        ("jira_issues.csv", "jira"),
        ("freshdesk_tickets.csv", "freshdesk"),
        ("dsa_sor_2024_sample.csv", "dsa_sor"),
        ("dsa_sor_2025.csv", "dsa_sor"),
    ],
)
def test_preset_detected_and_every_row_imported(con, file, preset):
    result = import_file(con, SAMPLES / file)
    assert result.preset == preset
    expected_dupes = (
        1 if file.startswith("dsa_sor_2024") else 0
    )  # one uuid repeats in the real dump
    assert result.quarantined == expected_dupes
    assert result.inserted == result.rows_read - expected_dupes


def test_zendesk_fields(con):
    import_file(con, SAMPLES / "zendesk_tickets.csv")
    row = _case(con, "1001")
    assert (row.status, row.priority, row.channel, row.region, row.queue) == (
        "resolved",
        "high",
        "web form",
        "LATAM",
        "High Risk",
    )
    assert str(row.first_response_at) == "2026-03-02 08:30:00"  # created + 15 minutes
    assert row.csat == 5.0
    assert _case(con, "1002").csat == 1.0  # "Bad"
    assert str(_case(con, "1003").csat) == "nan"  # "Offered" means no rating


def test_salesforce_api_and_report_exports(con):
    import_file(con, SAMPLES / "salesforce_cases.csv")
    row = _case(con, "00001001")
    assert str(row.created_at) == "2026-03-02 08:15:00"  # "+0000" offset understood
    assert (row.status, row.channel, row.country) == ("closed", "web form", "BR")
    assert _case(con, "00001004").priority == "urgent"  # "Critical"
    assert _case(con, "00001003").status == "pending"  # "On Hold"


def test_jira_dates_and_repeated_labels(con):
    import_file(con, SAMPLES / "jira_issues.csv")
    row = _case(con, "ESC-1002")
    assert str(row.created_at) == "2026-03-02 09:40:00"  # 02/Mar/26 09:40 AM
    assert row.tags == "escalation, vip"
    assert row.status == "open"  # "In Progress"
    assert _case(con, "ESC-1001").priority == "high"


def test_freshdesk_sla_and_sources(con):
    import_file(con, SAMPLES / "freshdesk_tickets.csv")
    row = _case(con, "1001")
    assert row.sla_breached is True or row.sla_breached == 1  # "SLA Violated"
    assert _case(con, "1002").channel == "in-app report"  # Mobihelp
    assert str(_case(con, "1002").sla_due_at) == "2026-03-03 09:40:00"


def test_dsa_2024_and_2025_codes(con):
    import_file(con, SAMPLES / "dsa_sor_2024_sample.csv")
    import_file(con, SAMPLES / "dsa_sor_2025.csv")
    cats = {c for (c,) in con.execute("SELECT DISTINCT category FROM cases").fetchall()}
    # 2024 "scope of platform service" and the 2025 "other violation of T&C" share a label.
    assert "Other violation of provider's terms and conditions" in cats
    assert "Cyber violence" in cats and "Protection of minors" in cats
    assert not any(c.startswith("STATEMENT_CATEGORY") for c in cats)
    row = _case(con, "8f0c1d2e-0000-4000-8000-000000000000")
    assert (row.queue, row.region, row.country, row.channel) == (
        "Regulatory/DSA",
        "EMEA",
        "DE",
        "trusted flagger",
    )
    assert row.product_surface == "video" and row.sub_policy == "Hate speech"


@pytest.mark.skipif(
    not (SHARED / "dsa_sor_sample").exists(), reason="../shared/datasets not present"
)
def test_real_dsa_dump_from_shared_folder(con):
    path = SHARED / "dsa_sor_sample" / "sor_sample_2024-03-14_shantay_fixture00000.csv"
    result = import_file(con, path)
    assert (result.rows_read, result.inserted, result.quarantined) == (50, 49, 1)
    platforms = {p for (p,) in con.execute("SELECT DISTINCT team FROM cases").fetchall()}
    assert platforms == {"Google Shopping", "TikTok", "AliExpress", "Pinterest"}


@pytest.mark.parametrize(
    "file",
    [
        "escalations.jsonl",
        "escalations.parquet",
        "escalations.tsv",
        "escalations_utf16.csv",
        "escalations_cp1252.csv",
        "escalations_excel_bom.csv",
        "zendesk_tickets.json",
    ],
)
def test_generic_formats(con, file):
    result = import_file(con, SAMPLES / file)
    assert (result.inserted, result.quarantined) == (8, 0)
    assert (
        con.execute(
            "SELECT count(*) FROM cases WHERE created_at IS NULL OR subject IS NULL"
        ).fetchone()[0]
        == 0
    )


def test_detect_preset_scores():
    assert (
        detect_preset(["Ticket ID", "Created time", "Resolved time", "Source", "Agent"])[0]
        == "freshdesk"
    )
    assert detect_preset(["id", "text", "when"])[0] == "generic"


def test_unknown_preset(con):
    with pytest.raises(UnknownPresetError, match="Choose one of"):
        import_file(con, SAMPLES / "escalations.tsv", preset="servicenow")


def test_mapping_file_yaml_and_toml(con, tmp_path):
    csv_path = tmp_path / "custom.csv"
    csv_path.write_text(
        "Ref,Opened,Headline,Markt,Zustand\nK1,14.03.2026 10:00,Hallo,DE,Erledigt\n",
        encoding="utf-8",
    )
    yaml_path = tmp_path / "map.yaml"
    yaml_path.write_text(
        "columns:\n  case_id: Ref\n  created_at: Opened\n  subject: Headline\n  country: Markt\n"
        "  status: Zustand\nvalues:\n  status:\n    Erledigt: resolved\ntimezone: Europe/Berlin\n",
        encoding="utf-8",
    )
    import_file(con, csv_path, mapping=load_mapping_file(yaml_path))
    row = _case(con, "K1")
    assert (row.status, row.region, str(row.created_at)) == (
        "resolved",
        "EMEA",
        "2026-03-14 09:00:00",
    )
    toml_path = tmp_path / "map.toml"
    toml_path.write_text(
        '[columns]\ncase_id = "Ref"\ncreated_at = "Opened"\nsubject = "Headline"\n',
        encoding="utf-8",
    )
    assert load_mapping_file(toml_path).columns["case_id"] == ("Ref",)


def test_invalid_mapping_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  not_a_column: X\n", encoding="utf-8")
    with pytest.raises(MappingError, match="not a case column"):
        load_mapping_file(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns: [unclosed\n", encoding="utf-8")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping_file(broken)
    with pytest.raises(MappingError, match="does not have"):
        resolve(["a", "b"], "generic", Mapping.from_dict({"columns": {"case_id": "zzz"}}))
