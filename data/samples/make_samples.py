"""Write the small sample exports in this folder (run once; the outputs are committed).

Each file imitates the real export format of one tool closely enough to exercise
its import preset: column names, date formats, value spellings, quirks such as
Jira's repeated "Labels" columns or Zendesk's "First reply time in minutes".

    python data/samples/make_samples.py
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

ROWS = [
    # id, created (UTC), subject, description, status, priority, channel, country, queue, category
    (
        "1001",
        "2026-03-02 08:15:00",
        "My account was hacked",
        "Someone changed my password and email to thief@example.com, my handle is @maria_rio. Call +55 11 91234 5678.",
        "solved",
        "high",
        "web",
        "BR",
        "High Risk",
        "Account security",
    ),
    (
        "1002",
        "2026-03-02 09:40:00",
        "Fake profile pretending to be me",
        "An account copied my photos and asks my fans for money. I am @budi.creator on the app.",
        "open",
        "normal",
        "mobile",
        "ID",
        "Impersonation",
        "Impersonation",
    ),
    (
        "1003",
        "2026-03-02 11:05:00",
        "Report button does nothing",
        'Since the update the report button spins forever, =HYPERLINK("http://evil.example","click")',
        "pending",
        "low",
        "email",
        "US",
        "Content Safety",
        "Product issue",
    ),
    (
        "1004",
        "2026-03-03 14:22:00",
        "Harassment in my comments",
        "A group keeps insulting my daughter in the comments.\nShe is 14. Please act.",
        "solved",
        "urgent",
        "web",
        "MX",
        "Content Safety",
        "Harassment",
    ),
    (
        "1005",
        "2026-03-03 16:50:00",
        "No answer to my appeal",
        "I appealed 20 days ago and nobody answered. My email is ana.lopez@example.org.",
        "closed",
        "normal",
        "email",
        "ES",
        "Appeals",
        "Appeals",
    ),
    (
        "1006",
        "2026-03-04 07:30:00",
        "Notice under Article 16 DSA",
        "As a trusted flagger we notify illegal hate speech at the attached URL; deadline 24h.",
        "solved",
        "high",
        "web",
        "DE",
        "Regulatory/DSA",
        "Illegal content",
    ),
    (
        "1007",
        "2026-03-04 10:10:00",
        "Coins disappeared after LIVE",
        "Bought coins for gifts, they vanished. Order 55-1234. São Paulo customer, ação urgente.",
        "open",
        "normal",
        "chat",
        "BR",
        "Commerce",
        "Payments",
    ),
    (
        "1008",
        "2026-03-05 19:45:00",
        "Worried about a user",
        "A teenager is saying goodbye in a LIVE, please check immediately.",
        "solved",
        "urgent",
        "mobile",
        "PH",
        "High Risk",
        "Self-harm",
    ),
]

RESOLVED = {
    "1001": "2026-03-02 12:00:00",
    "1004": "2026-03-04 09:00:00",
    "1005": "2026-03-10 10:00:00",
    "1006": "2026-03-04 20:00:00",
    "1008": "2026-03-05 21:00:00",
}


def zendesk_csv() -> None:
    header = [
        "Id",
        "Requester",
        "Requester email",
        "Assignee",
        "Group",
        "Subject",
        "Description",
        "Tags",
        "Status",
        "Priority",
        "Via",
        "Ticket type",
        "Created at",
        "Updated at",
        "Solved at",
        "Due date",
        "Reopens",
        "Satisfaction Score",
        "First reply time in minutes",
        "Country [list]",
    ]
    with open(HERE / "zendesk_tickets.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, (cid, created, subj, desc, status, prio, via, country, queue, cat) in enumerate(
            ROWS
        ):
            w.writerow(
                [
                    cid,
                    f"Requester {i}",
                    f"user{i}@example.com",
                    "Agent Smith",
                    queue,
                    subj,
                    desc,
                    "escalation vip" if i % 3 == 0 else "escalation",
                    status.title(),
                    prio.title(),
                    {"web": "Web Widget", "mobile": "Mobile SDK"}.get(via, via.title()),
                    cat,
                    created,
                    RESOLVED.get(cid, created),
                    RESOLVED.get(cid, ""),
                    "",
                    i % 2,
                    ["Good", "Bad", "Offered", ""][i % 4],
                    15 + 7 * i,
                    country,
                ]
            )


def zendesk_json() -> None:
    tickets = []
    for i, (cid, created, subj, desc, status, prio, via, _country, _queue, cat) in enumerate(ROWS):
        tickets.append(
            {
                "id": int(cid),
                "subject": subj,
                "description": desc,
                "status": status,
                "priority": prio,
                "type": cat.lower(),
                "via": {"channel": via, "source": {"rel": None}},
                "created_at": created.replace(" ", "T") + "Z",
                "updated_at": RESOLVED.get(cid, created).replace(" ", "T") + "Z",
                "tags": ["escalation"] + (["vip"] if i % 3 == 0 else []),
                "requester_id": 9000 + i,
            }
        )
    (HERE / "zendesk_tickets.json").write_text(
        json.dumps({"tickets": tickets, "count": len(tickets)}, indent=1), encoding="utf-8"
    )


def salesforce_csv() -> None:
    header = [
        "Id",
        "CaseNumber",
        "Subject",
        "Description",
        "Status",
        "Priority",
        "Origin",
        "Type",
        "Reason",
        "CreatedDate",
        "ClosedDate",
        "LastModifiedDate",
        "OwnerId",
        "SuppliedEmail",
        "Country__c",
        "IsEscalated",
    ]
    with open(HERE / "salesforce_cases.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        for i, (cid, created, subj, desc, status, prio, via, country, _queue, cat) in enumerate(
            ROWS
        ):
            iso = created.replace(" ", "T") + ".000+0000"
            closed = RESOLVED.get(cid)
            w.writerow(
                [
                    f"5005g00000{i:05d}AAA",
                    f"0000{cid}",
                    subj,
                    desc,
                    {
                        "solved": "Closed",
                        "closed": "Closed",
                        "open": "Working",
                        "pending": "On Hold",
                    }[status],
                    {"urgent": "Critical"}.get(prio, prio.title()),
                    {"web": "Web", "mobile": "Web", "chat": "Chat"}.get(via, via.title()),
                    cat,
                    "Policy question",
                    iso,
                    closed.replace(" ", "T") + ".000+0000" if closed else "",
                    (closed or created).replace(" ", "T") + ".000+0000",
                    "005000000000AAA",
                    f"customer{i}@example.com",
                    country,
                    "true",
                ]
            )


def salesforce_report_xlsx() -> None:
    df = pd.DataFrame(
        [
            {
                "Case Number": f"0000{cid}",
                "Subject": subj,
                "Description": desc,
                "Status": "Closed" if status in ("solved", "closed") else "New",
                "Priority": prio.title(),
                "Case Origin": via.title(),
                "Date/Time Opened": pd.Timestamp(created),
                "Date/Time Closed": pd.Timestamp(RESOLVED[cid]) if cid in RESOLVED else None,
                "Case Owner": "Agent Smith",
                "Account Name": "Creator Co",
                "Case Reason": cat,
            }
            for cid, created, subj, desc, status, prio, via, country, _q, cat in ROWS
        ]
    )
    df.to_excel(HERE / "salesforce_cases_report.xlsx", index=False)


def jira_csv() -> None:
    header = [
        "Summary",
        "Issue key",
        "Issue id",
        "Issue Type",
        "Status",
        "Project key",
        "Priority",
        "Resolution",
        "Assignee",
        "Reporter",
        "Created",
        "Updated",
        "Resolved",
        "Labels",
        "Labels",
        "Description",
        "Custom field (Request Type)",
        "Custom field (Country)",
    ]
    months = ["Jan", "Feb", "Mar", "Apr"]
    with open(HERE / "jira_issues.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, (cid, created, subj, desc, status, prio, _via, country, _q, cat) in enumerate(ROWS):
            ts = pd.Timestamp(created)
            fmt = (
                f"{ts.day:02d}/{months[ts.month - 1]}/{ts.year % 100:02d} {ts.strftime('%I:%M %p')}"
            )
            res = RESOLVED.get(cid)
            rts = pd.Timestamp(res) if res else None
            rfmt = (
                f"{rts.day:02d}/{months[rts.month - 1]}/{rts.year % 100:02d} {rts.strftime('%I:%M %p')}"
                if res
                else ""
            )
            w.writerow(
                [
                    subj,
                    f"ESC-{cid}",
                    20000 + i,
                    "Service Request",
                    {
                        "solved": "Done",
                        "closed": "Closed",
                        "open": "In Progress",
                        "pending": "Waiting for customer",
                    }[status],
                    "ESC",
                    {"urgent": "Highest", "high": "High", "normal": "Medium", "low": "Low"}[prio],
                    "Done" if res else "",
                    "agent.smith",
                    "customer",
                    fmt,
                    rfmt or fmt,
                    rfmt,
                    "escalation",
                    "vip" if i % 2 else "",
                    desc,
                    cat,
                    country,
                ]
            )


def freshdesk_csv() -> None:
    header = [
        "Ticket ID",
        "Subject",
        "Description",
        "Status",
        "Priority",
        "Source",
        "Type",
        "Agent",
        "Group",
        "Created time",
        "Due by Time",
        "Resolved time",
        "Closed time",
        "Last update time",
        "Initial response time",
        "Resolution status",
        "First response status",
        "Tags",
        "Survey results",
        "Product",
        "Full name",
        "Email",
        "Country",
    ]
    with open(HERE / "freshdesk_tickets.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, (cid, created, subj, desc, status, prio, via, country, queue, cat) in enumerate(
            ROWS
        ):
            ts = pd.Timestamp(created)
            res = RESOLVED.get(cid, "")
            w.writerow(
                [
                    cid,
                    subj,
                    desc,
                    {
                        "solved": "Resolved",
                        "closed": "Closed",
                        "open": "Open",
                        "pending": "Waiting on Customer",
                    }[status],
                    {"urgent": "Urgent", "high": "High", "normal": "Medium", "low": "Low"}[prio],
                    {"web": "Portal", "mobile": "Mobihelp", "chat": "Chat"}.get(via, "Email"),
                    cat,
                    "Agent Smith",
                    queue,
                    created,
                    str(ts + pd.Timedelta(hours=24)),
                    res,
                    res,
                    res or created,
                    str(ts + pd.Timedelta(minutes=20 + i)),
                    "SLA Violated" if i % 4 == 0 else "Within SLA",
                    "Within SLA",
                    "escalation",
                    ["Extremely Happy", "Neutral", "Unhappy", ""][i % 4],
                    "Video app",
                    f"Customer {i}",
                    f"customer{i}@example.com",
                    country,
                ]
            )


def dsa_2025_csv() -> None:
    """A few statements of reasons with the 2025 category codes (the real 2024 sample is beside it)."""
    base = {
        "decision_visibility": '["DECISION_VISIBILITY_CONTENT_REMOVED"]',
        "decision_visibility_other": "",
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Hate speech law",
        "illegal_content_explanation": "The content incites hatred against a protected group.",
        "incompatible_content_ground": "",
        "incompatible_content_explanation": "",
        "category_specification": '["KEYWORD_HATE_SPEECH"]',
        "content_type": '["CONTENT_TYPE_VIDEO"]',
        "content_language": "DE",
        "territorial_scope": '["DE"]',
        "source_type": "SOURCE_TRUSTED_FLAGGER",
        "decision_facts": "Notice by a trusted flagger, reviewed by a moderator.",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "platform_name": "VideoApp",
        "application_date": "2025-06-02 00:00:00",
    }
    rows = []
    cats = [
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    ]
    for i, cat in enumerate(cats):
        rows.append(
            {
                "uuid": f"8f0c1d2e-0000-4000-8000-00000000000{i}",
                **base,
                "category": cat,
                "created_at": f"2025-06-0{i + 2} 10:0{i}:00",
            }
        )
    pd.DataFrame(rows).to_csv(HERE / "dsa_sor_2025.csv", index=False)


def generic_formats() -> None:
    df = pd.DataFrame(
        [
            {
                "case_id": f"G-{cid}",
                "created_at": created,
                "subject": subj,
                "description": desc,
                "status": status,
                "priority": prio,
                "channel": via,
                "country": country,
                "queue": queue,
                "category": cat,
                "resolved_at": RESOLVED.get(cid),
            }
            for cid, created, subj, desc, status, prio, via, country, queue, cat in ROWS
        ]
    )
    df.to_json(HERE / "escalations.jsonl", orient="records", lines=True, force_ascii=False)
    df.to_parquet(HERE / "escalations.parquet", index=False)
    df.to_csv(HERE / "escalations.tsv", sep="\t", index=False)
    df.to_csv(HERE / "escalations_utf16.csv", index=False, encoding="utf-16")
    df.to_csv(HERE / "escalations_excel_bom.csv", index=False, encoding="utf-8-sig", sep=";")
    latin = df.copy()
    latin["description"] = latin["description"].str.replace("ação", "atenção ÷ café", regex=False)
    latin.to_csv(HERE / "escalations_cp1252.csv", index=False, encoding="cp1252", errors="replace")


if __name__ == "__main__":
    zendesk_csv()
    zendesk_json()
    salesforce_csv()
    salesforce_report_xlsx()
    jira_csv()
    freshdesk_csv()
    dsa_2025_csv()
    generic_formats()
    print("samples written to", HERE)
