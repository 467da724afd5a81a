"""Transaction import in the brand console: upload, column mapping, preview, the import job,
its progress and the error report, through HTTP on both databases."""

import csv
import io
import re

import pytest
from console_helpers import console_sign_in, csrf_token, make_console_user
from loyalty_helpers import add_rule
from sqlalchemy import func, select
from werkzeug.test import Client

from saas.jobs.queueing import backend
from saas.loyalty.models import Member, Order
from saas.security.audit import BrandAuditEntry

GOOD_FILE = b"customer_id,date,amount\nM1,2025-01-10,12.00\nM2,2025-01-11,30.50\n"


@pytest.fixture
def shop(runtime, make_brand):
    brand = make_brand("shop", name="Shop")
    with runtime.brand_session("shop") as session:
        add_rule(session)
    return brand


def signed_in(runtime, wsgi_app, role):
    email = f"{role}@example.com"
    secret = make_console_user(runtime, email, brand="shop", role=role)
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", email, secret)
    return client


def upload(client, data: bytes, name="sales.csv", **form):
    token = csrf_token(client, "/t/shop/admin/import")
    return client.post("/t/shop/admin/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name), **form})


def upload_id(response) -> str:
    return re.fullmatch(r"/t/shop/admin/import/([0-9a-f]{32})",
                        response.headers["Location"]).group(1)


def start(client, upload: str, **mapping):
    path = f"/t/shop/admin/import/{upload}"
    form = {"csrf_token": csrf_token(client, path)}
    form.update({f"map_{field}": column for field, column in mapping.items()})
    return client.post(f"{path}/start", data=form)


def start_job(runtime, client, data: bytes, **mapping) -> str:
    response = start(client, upload_id(upload(client, data)), **mapping)
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    backend(runtime).join()
    return job_id


def test_upload_redirects_to_the_mapping(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = upload(client, GOOD_FILE)
    assert response.status_code == 302
    assert upload_id(response)


def test_upload_is_stored_under_the_brand_folder(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    stored = upload_id(upload(client, GOOD_FILE))
    path = runtime.settings.instance_path / "imports" / "shop" / "uploads" / stored / "data"
    assert path.read_bytes() == GOOD_FILE


def test_upload_without_a_file_names_the_field(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    token = csrf_token(client, "/t/shop/admin/import")
    response = client.post("/t/shop/admin/import", content_type="multipart/form-data",
                           data={"csrf_token": token})
    assert response.status_code == 400
    assert b"file: choose a transaction file" in response.data


def test_upload_over_the_size_limit_is_rejected(runtime, shop, wsgi_app):
    wsgi_app.brand_app.config["IMPORT_MAX_UPLOAD_BYTES"] = 20
    client = signed_in(runtime, wsgi_app, "admin")
    response = upload(client, GOOD_FILE)
    assert response.status_code == 400
    assert b"file: the file is larger than" in response.data
    assert not (runtime.settings.instance_path / "imports" / "shop" / "uploads").exists() \
        or not any((runtime.settings.instance_path / "imports" / "shop" / "uploads").iterdir())


def test_upload_that_is_not_utf8_names_the_line(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = upload(client, b"member,amount\nM\xe91,12.00\n")
    assert response.status_code == 400
    assert b"line 2 is not valid UTF-8" in response.data


def test_mapping_is_prefilled_from_the_header(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    page = client.get(f"/t/shop/admin/import/{upload_id(upload(client, GOOD_FILE))}")
    member_select = re.search(rb'<select id="map_member".*?</select>', page.data, re.S).group(0)
    assert b'<option value="customer_id" selected>' in member_select


def test_preview_shows_parsed_rows_and_row_errors(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    data = b"member,amount\nM1,12.00\nM2,twelve\n"
    page = client.get(f"/t/shop/admin/import/{upload_id(upload(client, data))}")
    assert b"$12.00" in page.data
    assert re.search(rb'class="row-error"><td>3</td><td colspan="6">Not imported: amount '
                     rb'twelve', page.data)


def test_preview_fragment_follows_the_submitted_mapping(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    data = b"ref,gross,net\nM1,20.00,10.00\n"
    stored = upload_id(upload(client, data))
    token = csrf_token(client, f"/t/shop/admin/import/{stored}")
    response = client.post(f"/t/shop/admin/import/{stored}/preview",
                           data={"csrf_token": token, "map_member": "ref", "map_amount": "net"},
                           headers={"HX-Request": "true"})
    assert b"<html" not in response.data
    assert b"$10.00" in response.data
    assert b"$20.00" not in response.data


def test_start_without_an_amount_column_names_the_field(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    stored = upload_id(upload(client, b"ref,gross\nM1,20.00\n"))
    response = start(client, stored, member="ref")
    with runtime.brand_session("shop") as session:
        entries = session.scalar(select(func.count()).select_from(BrandAuditEntry))
    assert response.status_code == 400
    assert b"Amount: choose the column that holds it." in response.data
    assert entries == 0


def test_start_with_a_column_chosen_twice_is_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    stored = upload_id(upload(client, b"ref,gross\nM1,20.00\n"))
    response = start(client, stored, member="gross", amount="gross")
    assert response.status_code == 400
    assert b"the column gross is chosen for Member reference already" in response.data


def test_import_job_imports_the_rows(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    start_job(runtime, client, GOOD_FILE, member="customer_id", date="date", amount="amount")
    with runtime.brand_session("shop") as session:
        orders = session.scalar(select(func.count()).select_from(Order))
        balance = session.scalar(select(Member.balance).where(Member.ref == "M2"))
    assert orders == 2
    assert balance == 30


def test_import_start_is_audited_with_file_rows_and_mapping(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    job_id = start_job(runtime, client, GOOD_FILE, member="customer_id", amount="amount")
    with runtime.brand_session("shop") as session:
        entry = session.scalar(select(BrandAuditEntry))
    assert (entry.action, entry.target, entry.actor) == ("import.start", f"job:{job_id}",
                                                        "user:admin@example.com")
    assert entry.after["file"] == "sales.csv"
    assert entry.after["rows"] == 2
    assert entry.after["mapping"] == {"member": "customer_id", "amount": "amount"}


def test_job_page_polls_the_progress_fragment(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    stored = upload_id(upload(client, GOOD_FILE))
    job_id = start(client, stored, member="customer_id", amount="amount") \
        .headers["Location"].rsplit("/", 1)[1]
    backend(runtime).join()
    page = client.get(f"/t/shop/admin/import/jobs/{job_id}")
    fragment = client.get(f"/t/shop/jobs/{job_id}", headers={"HX-Request": "true"})
    assert f'id="job-{job_id}"'.encode() in page.data
    assert b'value="100"' in fragment.data
    assert b'data-testid="imported">2<' in page.data


def test_unfinished_job_summary_polls_itself(runtime, shop, wsgi_app):
    from saas.jobs.models import JobRecord

    with runtime.brand_session("shop") as session:
        session.add(JobRecord(id="waiting-job", name="imports.transactions", queue="default",
                              params={}))
        session.commit()
    client = signed_in(runtime, wsgi_app, "admin")
    fragment = client.get("/t/shop/admin/import/jobs/waiting-job/summary")
    assert b'hx-trigger="every 2s"' in fragment.data


def test_error_report_lists_the_rejected_rows(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    job_id = start_job(runtime, client, b"member,amount\nM1,12.00\nM2,twelve\n",
                       member="member", amount="amount")
    page = client.get(f"/t/shop/admin/import/jobs/{job_id}")
    report = client.get(f"/t/shop/admin/import/jobs/{job_id}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(report.data.decode())))
    assert f"/t/shop/admin/import/jobs/{job_id}/errors.csv".encode() in page.data
    assert report.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in report.headers["Content-Disposition"]
    assert [(row["row"], row["column"], row["value"]) for row in rows] == [
        ("3", "amount", "twelve")]


def test_error_report_neutralises_formulas(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    job_id = start_job(runtime, client, b'member,amount\nM1,"=HYPERLINK(""x"")"\n',
                       member="member", amount="amount")
    report = client.get(f"/t/shop/admin/import/jobs/{job_id}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(report.data.decode())))
    assert rows[0]["value"] == "'=HYPERLINK(\"x\")"


def test_error_report_is_missing_without_rejected_rows(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    job_id = start_job(runtime, client, GOOD_FILE, member="customer_id", amount="amount")
    assert client.get(f"/t/shop/admin/import/jobs/{job_id}/errors.csv").status_code == 404


def test_job_of_another_kind_is_not_shown(runtime, shop, wsgi_app):
    from saas.jobs.models import JobRecord

    with runtime.brand_session("shop") as session:
        session.add(JobRecord(id="other-job", name="points.expire", queue="default", params={}))
        session.commit()
    client = signed_in(runtime, wsgi_app, "admin")
    assert client.get("/t/shop/admin/import/jobs/other-job").status_code == 404


def test_analyst_cannot_open_the_import(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    assert client.get("/t/shop/admin/import").status_code == 403


def test_upload_of_another_brand_is_not_found(runtime, make_brand, shop, wsgi_app):
    make_brand("other")
    client = signed_in(runtime, wsgi_app, "admin")
    stored = upload_id(upload(client, GOOD_FILE))
    secret = make_console_user(runtime, "o@example.com", brand="other", role="admin")
    other = Client(wsgi_app)
    console_sign_in(runtime, other, "/t/other", "o@example.com", secret)
    assert other.get(f"/t/other/admin/import/{stored}").status_code == 404
