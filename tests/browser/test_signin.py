"""Sign-in for real: Streamlit's OpenID Connect login against a local OIDC provider, and roles."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Server, _free_port, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def oidc_server():
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(sub="lead@example.com", claims={"email": "lead@example.com", "name": "Lea Lead"}),
        User(
            sub="viewer@example.com", claims={"email": "viewer@example.com", "name": "Vic Viewer"}
        ),
    ]
    with run_server_in_thread(port=0, user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory, oidc_server, demo_db):
    import shutil

    folder = tmp_path_factory.mktemp("signin")
    db = folder / "demo.duckdb"
    shutil.copy(demo_db, db)
    port = _free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "test-cookie-secret-0123456789"\n'
        'client_id = "escalation-insights"\n'
        'client_secret = "test-secret"\n'
        f'server_metadata_url = "{oidc_server}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    roles = folder / "roles.toml"
    roles.write_text(
        'default_role = "viewer"\n[users]\n"lead@example.com" = "admin"\n', encoding="utf-8"
    )
    server = Server(
        db, env={"ESC_ROLES_PATH": str(roles)}, port=port, args=["--secrets.files", str(secrets)]
    )
    yield server
    server.stop()


def _sign_in(page, app, who: str) -> None:
    page.goto(f"http://localhost:{app.port}/")
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=who).click()  # the provider's "predefined user" button
    page.wait_for_url(f"http://localhost:{app.port}/**")
    wait_for_app(page)


def test_admin_signs_in_and_sees_the_audit_log(page, signed_in_app):
    _sign_in(page, signed_in_app, "lead@example.com")
    page.get_by_text("Lea Lead · admin").wait_for()
    page.goto(f"http://localhost:{signed_in_app.port}/Admin")
    wait_for_app(page)
    page.get_by_role("heading", name="Audit log").wait_for()
    assert page.get_by_text("cannot view the audit log").count() == 0


def test_viewer_gets_read_only_views(page, signed_in_app):
    _sign_in(page, signed_in_app, "viewer@example.com")
    page.get_by_text("Vic Viewer · viewer").wait_for()
    page.goto(f"http://localhost:{signed_in_app.port}/Data")
    wait_for_app(page)
    page.get_by_text("cannot import data", exact=False).wait_for()
    page.goto(f"http://localhost:{signed_in_app.port}/Admin")
    wait_for_app(page)
    page.get_by_text("cannot view the audit log", exact=False).wait_for()


def test_signed_out_visitor_sees_only_the_sign_in_screen(page, signed_in_app):
    page.goto(f"http://localhost:{signed_in_app.port}/Cases")
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.locator("[data-testid='stMetricValue']").count() == 0
    assert page.get_by_text("ESC-", exact=False).count() == 0
