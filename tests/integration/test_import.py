"""Transaction import on SQLite and PostgreSQL: parsing, idempotency, errors, ledger."""

import csv
from datetime import UTC, datetime

import pytest
from loyalty_helpers import add_rule, add_tiers
from sqlalchemy import func, select

from saas.imports.columns import ColumnMappingError
from saas.imports.importer import ImportOptions, import_transactions
from saas.loyalty.members import get_member, set_member_status
from saas.loyalty.models import LedgerEntry, Lot, Member, MemberStatus, Order
from saas.loyalty.orders import OrderInput, accrue

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(runtime, make_brand, tmp_path):
    """Open a brand with one rule and return (brand, session, write_file)."""
    opened = []

    def open_brand(slug="shop", **fields):
        brand = make_brand(slug, **fields)
        session = runtime.open_brand_session(brand)
        add_rule(session, per="1")
        opened.append(session)
        return brand, session

    yield open_brand
    for session in opened:
        session.close()


def write(tmp_path, data: bytes, name="data.txt"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(session, brand, path, tmp_path, **options):
    return import_transactions(session, brand, path, ImportOptions(**options),
                               error_report_path=tmp_path / "errors.csv", now=NOW)


def balance(session, ref):
    session.expire_all()
    return get_member(session, ref).balance


def test_german_file_with_bom(shop, tmp_path):
    brand, session = shop(currency="EUR", locale="de_DE", timezone="Europe/Berlin")
    path = write(tmp_path, b"\xef\xbb\xbfmember_id;amount\nM1;1.234,50\nM2;25.00")

    summary = run(session, brand, path, tmp_path)
    with (tmp_path / "errors.csv").open(encoding="utf-8") as report:
        errors = list(csv.DictReader(report))

    assert balance(session, "M1") == 1234
    assert summary.imported == 1
    assert summary.rejected == 1
    assert summary.dated_at_import
    assert errors[0]["row"] == "3"
    assert errors[0]["column"] == "amount"
    assert errors[0]["value"] == "25.00"
    assert "1.234,56" in errors[0]["reason"]
    assert session.scalar(select(Member.id).where(Member.ref == "M2")) is None


def test_cdnow_shaped_file(shop, tmp_path):
    brand, session = shop(timezone="America/New_York")
    path = write(tmp_path, (
        b" customer_id  date number_of_cds  dollar_value\r\n"
        b" 00001 19970101  1   11.77\r\n"
        b" 00002 19970112  1   12.00\r\n"
        b" 00002 19970112  1   12.00\r\n"
        b" 00003 19970102  2   20.76\r\n"
        b" 00004 19970330  0    0.00\r\n"
    ))
    summary = run(session, brand, path, tmp_path)
    first_order = session.scalars(select(Order).order_by(Order.id)).first()

    assert summary.imported == 5
    assert summary.delimiter == "whitespace"
    assert balance(session, "00002") == 24
    assert balance(session, "00004") == 0
    assert session.scalar(select(func.count(Order.id))) == 5
    assert first_order.ordered_at == datetime(1997, 1, 1, 5, 0, tzinfo=UTC)
    assert get_member(session, "00001").ref == "00001"


def test_reimport_adds_nothing(shop, tmp_path):
    brand, session = shop()
    path = write(tmp_path, b"member,date,amount\nA,2025-01-01,10.00\nA,2025-01-01,10.00\nB,2025-01-02,5.00\n")
    first = run(session, brand, path, tmp_path)
    second = run(session, brand, path, tmp_path)

    assert first.imported == 3
    assert second.imported == 0
    assert second.already_imported == 3
    assert balance(session, "A") == 20
    assert session.scalar(select(func.count(LedgerEntry.id))) == 3


def test_reimport_with_inserted_row_adds_only_it(shop, tmp_path):
    brand, session = shop()
    run(session, brand, write(tmp_path, b"member,date,amount\nA,2025-01-01,10.00\n"), tmp_path)
    grown = write(tmp_path, b"member,date,amount\nB,2025-01-03,7.00\nA,2025-01-01,10.00\n", "b.csv")
    summary = run(session, brand, grown, tmp_path)
    assert (summary.imported, summary.already_imported) == (1, 1)


def test_order_column_keys_rows(shop, tmp_path):
    brand, session = shop()
    path = write(tmp_path, b"order_id\tcustomer_id\tdate\ttotal\nX1\tA\t2025-02-01\t30.00\nX1\tA\t2025-02-01\t30.00\n")
    summary = run(session, brand, path, tmp_path)
    assert summary.imported == 1
    assert summary.already_imported == 1
    assert session.scalar(select(Order.ref)) == "X1"


def test_refund_rows_reverse_points(shop, tmp_path):
    brand, session = shop()
    path = write(tmp_path, (
        b"order,member,date,amount,refund\n"
        b"X1,A,2025-02-01,100.00,0\n"
        b"X1,A,2025-02-03,40.00,1\n"
    ))
    summary = run(session, brand, path, tmp_path)
    again = run(session, brand, path, tmp_path)
    assert summary.refunds == 1
    assert balance(session, "A") == 60
    assert again.refunds == 0


def test_mapping_override(shop, tmp_path):
    brand, session = shop()
    path = write(tmp_path, b"Kunde;Datum;Umsatz\nK-1;20250105;12.50\n")
    summary = run(session, brand, path, tmp_path,
                  mapping={"member": "Kunde", "date": "Datum", "amount": "Umsatz"})
    assert summary.columns["amount"] == "Umsatz"
    assert balance(session, "K-1") == 12


def test_unmapped_amount_rejected_before_writing(shop, tmp_path):
    brand, session = shop()
    path = write(tmp_path, b"member;datum\nA;20250105\n")
    with pytest.raises(ColumnMappingError, match="--mapping amount=COLUMN"):
        run(session, brand, path, tmp_path)
    assert session.scalar(select(func.count(Member.id))) == 0


def test_bad_rows_reported_good_rows_kept(shop, tmp_path):
    brand, session = shop()
    path = write(tmp_path, (
        b"member,date,amount\n"
        b"=HYPERLINK(1),2025-01-01,1.00\n"
        b"A,2025-02-30,1.00\n"
        b"A,2099-01-01,1.00\n"
        b"A,2025-01-01\n"
        b"A,2025-01-01,-3.00\n"
        b"B,2025-01-01,3.00\n"
    ))
    summary = run(session, brand, path, tmp_path)
    report = (tmp_path / "errors.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(report.splitlines()))

    assert summary.imported == 1
    assert summary.rejected == 5
    assert [row["row"] for row in rows] == ["2", "3", "4", "5", "6"]
    assert rows[0]["value"] == "'=HYPERLINK(1)"
    assert "in the future" in rows[2]["reason"]
    assert "expected 3 columns" in rows[3]["reason"]
    assert "refund" in rows[4]["reason"]
    assert balance(session, "B") == 3


def test_blocked_member_row_rejected(shop, tmp_path):
    brand, session = shop()
    run(session, brand, write(tmp_path, b"member,amount\nA,1.00\n"), tmp_path)
    set_member_status(session, "A", MemberStatus.BLOCKED)
    session.commit()
    summary = run(session, brand, write(tmp_path, b"member,amount,order\nA,5.00,n1\n", "b.csv"),
                  tmp_path)
    assert summary.rejected == 1
    assert balance(session, "A") == 1


def test_import_matches_live_accrual(runtime, make_brand, tmp_path):
    """Batches across members, debts and tiers end where row-by-row accrual ends."""
    rows = [("A", "2025-01-01", "600.00"), ("B", "2025-01-02", "3.33"), ("A", "2025-01-03", "500.00"),
            ("C", "2025-01-04", "0.00"), ("A", "2025-01-05", "100.00"), ("B", "2025-01-06", "999.99")]
    text = "member,date,amount\n" + "".join(f"{m},{d},{a}\n" for m, d, a in rows)
    results = {}
    for slug, via_import in (("bulk", True), ("live", False)):
        brand = make_brand(slug)
        with runtime.open_brand_session(brand) as session:
            add_rule(session, per="1")
            add_tiers(session, ("bronze", 0, "1"), ("gold", 1000, "1.5"))
            if via_import:
                import_transactions(session, brand, write(tmp_path, text.encode()),
                                    ImportOptions(batch_size=2), now=NOW)
            else:
                for index, (member, day, amount) in enumerate(rows):
                    accrue(session, brand, OrderInput(
                        f"o{index}", member, int(amount.replace(".", "")), "USD",
                        datetime.fromisoformat(day).replace(tzinfo=UTC)), source="import",
                        enrol=True)
                    session.commit()
            results[slug] = sorted(session.execute(
                select(Member.ref, Member.balance, Member.tier_id)).all())
            results[slug + "-lots"] = session.scalar(select(func.sum(Lot.remaining)))
    assert results["bulk"] == results["live"]
    assert results["bulk-lots"] == results["live-lots"]
