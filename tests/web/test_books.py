"""The union's books on the web (issue 14): the custodian proposes with receipts, an officer approves and only then is it
booked, the auditor reads; nobody approves their own; two officers approving at once book it once; bad receipts and
bad amounts are refused saying what is wrong; and anyone, unsigned, reads each month's books naming nobody, with
hashes they can recompute, the printable report and the XLSX."""

from __future__ import annotations

import hashlib
import json
import threading
from decimal import Decimal
from io import BytesIO

import cv2
import httpx2 as httpx
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from station.live import LiveStation
from store.db import sessions
from store.ledger import attestations
from store.models import AuditEntry, LedgerEntry
from store.spending import MOST_RECEIPT_BYTES
from tests.web.conftest import PASSWORD, as_role
from web.auth import Role

DAY = "2026-12-03"


def receipt_png(seed: int = 0) -> bytes:
    """A small real PNG (a photographed invoice, as far as the books care)."""
    picture = np.full((40, 60, 3), 255, np.uint8)
    cv2.putText(picture, f"{seed}", (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    ok, encoded = cv2.imencode(".png", picture)
    assert ok
    return encoded.tobytes()


def propose(client: TestClient, headers: dict[str, str], amount: str = "128.50", **fields: str) -> dict:
    body = {"account": "supplies", "via": "cash", "amount": amount, "memo": "桶装水 20 桶", "spent_on": DAY, **fields}
    answer = client.post("/api/books/spending", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def attach(client: TestClient, headers: dict[str, str], spending: int, data: bytes, kind: str = "image/png") -> httpx.Response:
    return client.post(f"/api/books/spending/{spending}/receipts", content=data, headers={**headers, "Content-Type": kind})


def test_the_custodian_proposes_the_officer_approves_and_anyone_reads_it_naming_nobody(client: TestClient, station: LiveStation) -> None:
    custodian, officer, auditor = (as_role(client, role) for role in (Role.CUSTODIAN, Role.ADMIN, Role.AUDITOR))
    proposed = propose(client, custodian)
    assert proposed["status"] == "proposed" and proposed["amount_fen"] == 12850 and proposed["entry"] is None
    photo = receipt_png()
    kept = attach(client, custodian, proposed["id"], photo)
    assert kept.status_code == 201 and kept.json()["sha256"] == hashlib.sha256(photo).hexdigest(), kept.text
    assert attach(client, custodian, proposed["id"], photo).json()["sha256"] == kept.json()["sha256"], "the same file, kept once"
    approved = client.post(f"/api/books/spending/{proposed['id']}/approve", headers=officer)
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    entry = approved.json()["entry"]
    assert entry == 1 and approved.json()["decided_by"] == "admin"

    seen = client.get(f"/api/books/spending/{proposed['id']}/receipts/{kept.json()['sha256']}", headers=auditor)
    assert seen.status_code == 200 and seen.content == photo and seen.headers["content-type"] == "image/png"
    assert "sandbox" in seen.headers["content-security-policy"]

    month = client.get("/api/books/month", params={"month": "2026-12"})  # no sign-in
    assert month.status_code == 200, month.text
    view = month.json()
    assert [row["fen"] for row in view["spent"] if row["code"] == "supplies"] == [12850]
    assert view["closing_fen"] - view["opening_fen"] == -12850 and view["head"]["entry"] == 1
    (shown,) = view["entries"]
    assert shown["receipts"] == [kept.json()["sha256"]] and shown["lines"] == [["supplies", 12850, 0], ["cash", 0, 12850]]
    content = {key: value for key, value in shown.items() if key != "hash"}
    compact = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert hashlib.sha256(compact.encode()).hexdigest() == shown["hash"], "anyone recomputes the hash from the page"
    for name in ("custodian", "admin", "李"):
        assert name not in month.text, f"the public books name {name!r}"
    assert client.get("/api/books/entries").json() == view["entries"]

    with sessions(station.db)() as db:
        actions = [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id)) if e.action not in ("login", "token")]
        booked = db.get(LedgerEntry, entry)
        assert booked is not None and booked.receipts == [kept.json()["sha256"]] and booked.username == "admin"
        assert attestations(db)[entry].username == "admin"
    assert actions[-4:] == ["spending_proposed", "receipt_attached", "spending_approved", "ledger_booked"] or actions[-5:] == [
        "spending_proposed", "receipt_attached", "receipt_attached", "spending_approved", "ledger_booked"
    ], actions  # fmt: skip


def test_each_role_does_only_its_part(client: TestClient) -> None:
    custodian, officer, auditor, operator = (as_role(client, role) for role in (Role.CUSTODIAN, Role.ADMIN, Role.AUDITOR, Role.OPERATOR))
    body = {"account": "supplies", "via": "cash", "amount": "10", "memo": "纸杯", "spent_on": DAY}
    assert client.post("/api/books/spending", json=body, headers=auditor).status_code == 403, "the auditor changes nothing"
    assert client.get("/api/books/spending", headers=operator).status_code == 403, "the books are not the operators'"
    assert client.get("/api/books/spending", headers=auditor).status_code == 200
    waiting = propose(client, custodian, "10")
    attach(client, custodian, waiting["id"], receipt_png())
    assert client.post(f"/api/books/spending/{waiting['id']}/approve", headers=custodian).status_code == 403
    own = propose(client, officer, "20")
    attach(client, officer, own["id"], receipt_png(1))
    refused = client.post(f"/api/books/spending/{own['id']}/approve", headers=officer)
    assert refused.status_code == 403 and refused.json()["code"] == "spending_own", refused.text
    not_yours = client.post(f"/api/books/spending/{own['id']}/withdraw", json={}, headers=custodian)
    assert not_yours.status_code == 403 and not_yours.json()["code"] == "spending_not_yours"
    withdrawn = client.post(f"/api/books/spending/{own['id']}/withdraw", json={"reason": "买重了"}, headers=officer)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    no_reason = client.post(f"/api/books/spending/{waiting['id']}/reject", json={"reason": " "}, headers=officer)
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "spending_reason"
    rejected = client.post(f"/api/books/spending/{waiting['id']}/reject", json={"reason": "超出本月计划"}, headers=officer)
    assert rejected.status_code == 200 and rejected.json()["reason"] == "超出本月计划"
    again = client.post(f"/api/books/spending/{waiting['id']}/approve", headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "spending_decided"
    late = attach(client, custodian, waiting["id"], receipt_png(2))
    assert late.status_code == 409 and late.json()["code"] == "spending_decided"
    assert client.get("/api/books/month").json()["entries"] == [], "nothing rejected or withdrawn was booked"


def test_bad_proposals_and_receipts_are_refused_saying_what_is_wrong(client: TestClient) -> None:
    custodian, officer = as_role(client, Role.CUSTODIAN), as_role(client, Role.ADMIN)
    for amount in ("12.345", "-3", "0", "abc", "1e400", "NaN"):
        answer = client.post("/api/books/spending", headers=custodian,
                             json={"account": "supplies", "via": "cash", "amount": amount, "memo": "x", "spent_on": DAY})  # fmt: skip
        assert answer.status_code == 422 and answer.json()["code"] == "spending_amount", (amount, answer.text)
    wrong_line = client.post("/api/books/spending", headers=custodian,
                             json={"account": "donations", "via": "cash", "amount": "1", "memo": "x", "spent_on": DAY})  # fmt: skip
    assert wrong_line.status_code == 422 and wrong_line.json()["params"] == {"account": "donations"}
    wrong_via = client.post("/api/books/spending", headers=custodian,
                            json={"account": "supplies", "via": "repairs", "amount": "1", "memo": "x", "spent_on": DAY})  # fmt: skip
    assert wrong_via.status_code == 422 and wrong_via.json()["code"] == "spending_via"
    two_lines = client.post("/api/books/spending", headers=custodian,
                            json={"account": "supplies", "via": "cash", "amount": "1", "memo": "a\nb", "spent_on": DAY})  # fmt: skip
    assert two_lines.status_code == 422 and two_lines.json()["code"] == "spending_memo"
    for day in ("2062-12-03", "0001-01-01", "2024-01-01"):
        typo = client.post("/api/books/spending", headers=custodian,
                           json={"account": "supplies", "via": "cash", "amount": "1", "memo": "x", "spent_on": day})  # fmt: skip
        assert typo.status_code == 422 and typo.json()["code"] == "spending_day", (day, typo.text)
    nested = client.post("/api/books/spending", headers=custodian, json={"account": {"a": [[[[1]]]]}, "amount": "1"})
    assert nested.status_code == 422
    waiting = propose(client, custodian)
    no_receipt = client.post(f"/api/books/spending/{waiting['id']}/approve", headers=officer)
    assert no_receipt.status_code == 409 and no_receipt.json()["code"] == "spending_no_receipt"
    script = attach(client, custodian, waiting["id"], b"<script>alert(1)</script>", "image/png")
    assert script.status_code == 422 and script.json()["code"] == "receipt_kind", "a file is what its bytes say, not its header"
    huge = attach(client, custodian, waiting["id"], b"%PDF-" + b"0" * MOST_RECEIPT_BYTES, "application/pdf")
    assert huge.status_code == 413
    for n in range(5):
        assert attach(client, custodian, waiting["id"], receipt_png(10 + n)).status_code == 201
    sixth = attach(client, custodian, waiting["id"], b"%PDF-1.7 sixth")
    assert sixth.status_code == 422 and sixth.json()["code"] == "receipt_too_many"
    assert client.get("/api/books/month", params={"month": "2026-13"}).json()["code"] == "ledger_month"
    assert client.get("/api/books/month", params={"month": "26-1"}).status_code == 422
    unknown = client.post("/api/books/spending/999/approve", headers=officer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "spending_unknown"


def _bearer(web: httpx.Client, username: str) -> dict[str, str]:
    answer = web.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_two_officers_approving_at_once_book_it_once(server: str, station: LiveStation) -> None:
    with httpx.Client(base_url=server) as web:
        custodian, officer = _bearer(web, "custodian"), _bearer(web, "admin")
        body = {"account": "repairs", "via": "bank", "amount": "300", "memo": "空调维修", "spent_on": DAY}
        spending = web.post("/api/books/spending", json=body, headers=custodian).json()
        assert web.post(f"/api/books/spending/{spending['id']}/receipts", content=b"%PDF-1.4 invoice",
                        headers={**custodian, "Content-Type": "application/pdf"}).status_code == 201  # fmt: skip
    answers: list[int] = []

    def approve() -> None:
        with httpx.Client(base_url=server, timeout=60) as web:
            answers.append(web.post(f"/api/books/spending/{spending['id']}/approve", headers=officer).status_code)

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] + [409] * 7, answers
    with sessions(station.db)() as db:
        assert [e.memo for e in db.scalars(select(LedgerEntry))] == ["空调维修"]
        assert station.ledger is not None and station.ledger.verify(db, attested=attestations(db)) == []


def test_the_printable_report_and_the_workbook_are_anyones_and_match_the_books(client: TestClient) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    custodian, officer = as_role(client, Role.CUSTODIAN), as_role(client, Role.ADMIN)
    for amount, account in (("1000", "union_allocation"), ("250.25", "donations")):
        received = propose(client, custodian, amount, kind="receive", account=account, via="bank", memo="拨款到账")
        assert client.post(f"/api/books/spending/{received['id']}/approve", headers=officer).status_code == 200
    spent = propose(client, custodian, "99.99", via="bank")
    attach(client, custodian, spent["id"], receipt_png())
    assert client.post(f"/api/books/spending/{spent['id']}/approve", headers=officer).status_code == 200
    report = client.get("/books/report", params={"month": "2026-12", "lang": "en"})
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]
    assert "99.99" in report.text and "1,250.25" in report.text
    book = client.get("/books/report.xlsx", params={"month": "2026-12"})
    assert book.status_code == 200 and "books-2026-12.xlsx" in book.headers["content-disposition"]
    sheets = load_workbook(BytesIO(book.content))
    numbers = [Decimal(str(cell)) for row in sheets.worksheets[0].iter_rows(values_only=True) for cell in row
               if isinstance(cell, int | float)]  # fmt: skip
    assert Decimal("1250.25") in numbers and Decimal("1150.26") in numbers, numbers  # received; held at the end
    page = client.get("/books")
    assert page.status_code == 200 and "books.js" in page.text and "<script>" not in page.text


def test_anyone_checks_the_published_books_from_outside_and_an_edit_is_named(server: str, station: LiveStation) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from tests.store.test_ledger import _unguarded

    with httpx.Client(base_url=server) as web:
        custodian, officer = _bearer(web, "custodian"), _bearer(web, "admin")
        for n in range(3):
            body = {"kind": "receive", "account": "donations", "via": "cash", "amount": f"{n + 1}0", "memo": f"捐赠 {n}", "spent_on": DAY}
            made = web.post("/api/books/spending", json=body, headers=custodian).json()
            assert web.post(f"/api/books/spending/{made['id']}/approve", headers=officer).status_code == 200
    intact = CliRunner().invoke(app, ["ledger", "check", server])
    assert intact.exit_code == 0 and "intact: 3 entries" in intact.output, intact.output
    for connection in _unguarded(station.db):
        connection.execute(text("UPDATE ledger_line SET credit_fen = 200000 WHERE entry_id = 2 AND credit_fen > 0"))
    edited = " ".join(CliRunner().invoke(app, ["ledger", "check", server]).output.split())
    assert "broken entry 2: its hash does not match its content" in edited and "do not balance" in edited, edited
    nowhere = CliRunner().invoke(app, ["ledger", "check", "http://127.0.0.1:1"])
    assert nowhere.exit_code == 2 and "cannot read the books" in nowhere.output
    assert CliRunner().invoke(app, ["ledger", "check", "ftp://x"]).exit_code == 2


def test_an_officer_sets_a_budget_line_and_the_public_page_weighs_spending_against_it(client: TestClient) -> None:
    officer, custodian = as_role(client, Role.ADMIN), as_role(client, Role.CUSTODIAN)
    assert client.put("/api/books/accounts/supplies/budget", json={"budget": "1200"}, headers=custodian).status_code == 403
    bad = client.put("/api/books/accounts/supplies/budget", json={"budget": "12.001"}, headers=officer)
    assert bad.status_code == 422 and bad.json()["code"] == "spending_amount"
    unknown = client.put("/api/books/accounts/cash/budget", json={"budget": "1"}, headers=officer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "budget_line_unknown", "cash is no budget line"
    set_ = client.put("/api/books/accounts/supplies/budget", json={"budget": "1200"}, headers=officer)
    assert set_.status_code == 200 and set_.json()["budget_fen"] == 120000
    spent = propose(client, custodian, "300")
    attach(client, custodian, spent["id"], receipt_png())
    assert client.post(f"/api/books/spending/{spent['id']}/approve", headers=officer).status_code == 200
    (line,) = [row for row in client.get("/api/books/month", params={"month": "2026-12"}).json()["spent"] if row["code"] == "supplies"]
    assert (line["fen"], line["this_year_fen"], line["budget_fen"]) == (30000, 30000, 120000)
    cleared = client.put("/api/books/accounts/supplies/budget", json={"budget": None}, headers=officer)
    assert cleared.json()["budget_fen"] is None
