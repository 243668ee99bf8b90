"""Staff login attacked the way an attacker would: guessing, timing, redirects, stolen cookies.

Most tests drive the real app through Flask's test client; where concurrency or the bytes on the
wire matter, a real server on 127.0.0.1 answers plain ``http.client`` requests.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import sqlite3
import statistics
import threading
import time
from contextlib import contextmanager
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from conftest import SECRET_WORDS, STAFF_PASSWORD

from search_service import config
from search_service.web import auth
from search_service.web.auth import hash_password

ACCOUNT_LOCKED = "Đăng nhập sai quá nhiều lần. Xin thử lại sau 15 phút."
CLIENT_LIMITED = "Có quá nhiều lần đăng nhập từ địa chỉ này. Xin thử lại sau 15 phút."


@pytest.fixture
def library(tmp_path):
    return tmp_path / "library"


@pytest.fixture
def app(make_app, library):
    return make_app(LIBRARY_DIR=str(library))


@pytest.fixture
def client(app):
    return app.test_client()


def login_page(client, query: str = "") -> BeautifulSoup:
    response = client.get("/login", query_string=query)
    assert response.status_code == 200
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def try_login(client, username="can_bo", password=STAFF_PASSWORD, address="127.0.0.1", **extra):
    token = login_page(client).select_one("input[name=csrf_token]")["value"]
    return client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": password, **extra},
                       environ_base={"REMOTE_ADDR": address})


def error_text(response) -> str:
    node = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(".form-error")
    return " ".join(node.get_text().split()) if node else ""


def sees_internal(client) -> bool:
    """Whether this client's session shows the internal documents, by page and by API."""
    api = client.get("/api/search", query_string={"q": "sen hong"}).get_json()["total"]
    page = client.get("/documents/noi-bo-tt-07").status_code
    assert (api == 2) == (page == 200), (api, page)        # the page and its JSON twin agree
    return page == 200


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def client_with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


# -- guessing: per-account lockout and per-address limit ---------------------------------------
def test_two_hundred_wrong_passwords_then_the_right_one_is_refused(client):
    statuses = [try_login(client, password=f"sai-{n}").status_code for n in range(200)]
    assert statuses == [401] * 5 + [429] * 195
    response = try_login(client)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    assert not sees_internal(client)


def test_the_lockout_follows_the_account_whatever_the_address(client):
    for n in range(5):
        assert try_login(client, password="sai", address=f"10.0.0.{n}").status_code == 401
    response = try_login(client, address="10.0.0.99")             # right password, new address
    assert response.status_code == 429
    assert error_text(response) == ACCOUNT_LOCKED
    assert 890 <= int(response.headers["Retry-After"]) <= 900
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert not sees_internal(client)


def test_unknown_accounts_lock_the_same_way(client):
    statuses = [try_login(client, username="khong_co", password="x").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_each_address_has_a_limit_on_attempts(client):
    for n in range(30):                    # a different name each time: no account locks
        assert try_login(client, username=f"ai-{n}", password="x").status_code == 401
    response = try_login(client, username="ai-30", password="x")
    assert response.status_code == 429
    assert error_text(response) == CLIENT_LIMITED
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    assert try_login(client, address="10.1.2.3").status_code == 302     # others still log in


def test_a_successful_login_forgets_earlier_failures(client):
    for _ in range(2):
        assert [try_login(client, password="sai").status_code for _ in range(4)] == [401] * 4
        assert try_login(client).status_code == 302
        client.post("/logout", data={"csrf_token": login_page(client).select_one(
            "input[name=csrf_token]")["value"]})


def test_the_lockout_ends_with_its_window(make_app, library):
    client = make_app(LIBRARY_DIR=str(library), LOGIN_LIMIT="2 per 1 second").test_client()
    assert [try_login(client, password="sai").status_code for _ in range(3)] == [401, 401, 429]
    wait = int(try_login(client).headers["Retry-After"])
    assert wait == 1
    time.sleep(1.1)
    assert try_login(client).status_code == 302


@pytest.mark.parametrize("name, value", [("LOGIN_LIMIT", "nhiều lần"),
                                         ("LOGIN_CLIENT_LIMIT", "5 per fortnight")])
def test_a_bad_limit_setting_stops_the_start(make_app, library, name, value):
    with pytest.raises(ValueError, match=f"SEARCH_{name}"):
        make_app(LIBRARY_DIR=str(library), **{name: value})


def test_password_checks_beyond_the_free_slots_are_answered_busy(client):
    slots = []
    while auth._HASH_SLOTS.acquire(blocking=False):     # take every slot, as a flood would
        slots.append(1)
    try:
        response = try_login(client, password="sai")
    finally:
        for _ in slots:
            auth._HASH_SLOTS.release()
    assert response.status_code == 503
    assert error_text(response) == "Máy chủ đang bận. Xin thử lại sau vài giây."
    assert response.headers["Retry-After"] == "2"
    assert try_login(client).status_code == 302


# -- timing does not tell which users exist ---------------------------------------------------
def test_unknown_users_take_as_long_as_real_ones(make_app, library):
    """Wrong password for a real user vs an unknown user, with the real (slow) hash method."""
    client = make_app(LIBRARY_DIR=str(library),
                      STAFF_USERS="can_bo:" + hash_password(STAFF_PASSWORD)).test_client()
    token = login_page(client).select_one("input[name=csrf_token]")["value"]
    known, unknown = [], []
    for n in range(3):
        for user, times in (("can_bo", known), (f"khong-co-{n}", unknown)):
            start = time.perf_counter()
            response = client.post("/login", data={"csrf_token": token, "username": user,
                                                   "password": "sai"})
            times.append(time.perf_counter() - start)
            assert response.status_code == 401
    assert statistics.median(unknown) >= 0.5 * statistics.median(known), (known, unknown)
    assert statistics.median(known) >= 0.5 * statistics.median(unknown), (known, unknown)


# -- the redirect after login stays on this site ------------------------------------------------
HOSTILE_NEXT = [
    "//evil.example/", "///evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example",
    " //evil.example", "\x00//evil.example", "/\x00/evil.example", "/%09/evil.example",
    "/%0a/evil.example", "/%2F/evil.example", "%2F%2Fevil.example", "/%5Cevil.example",
    "/%5C%5Cevil.example", "https:evil.example", "https://evil.example/", "HTTPS://evil.example",
    "https:/evil.example", "javascript:alert(1)", "java\tscript:alert(1)", "data:text/html,x",
    "evil.example", "@evil.example", "http://[", "//[::1]/",
    "/%0d%0aSet-Cookie:%20a=b", "\r\n", "%0d%0a", "/" + "a" * 5000, "//" + "a" * 5000,
    "\ufeff//evil.example",
]


def browser_target(location: str, base: str = "http://ward.example/login") -> str:
    """Where a browser goes for this Location: it drops tabs and newlines, reads '\\' as '/'."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21))))
    return urljoin(base, cleaned.replace("\\", "/"))


def assert_stays_on_site(location: str) -> None:
    assert location.startswith("/") and not location.startswith("//"), location
    assert not re.search(r"[\x00-\x20\x7f\\]", location), location
    assert urlsplit(location).netloc == "" and urlsplit(location).scheme == ""
    assert urlsplit(browser_target(location)).netloc == "ward.example", location


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_in_the_form_goes_home(client, target):
    response = try_login(client, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target, location", [
    ("/\r\nSet-Cookie: a=b", "/Set-Cookie:%20a=b"),     # a browser drops CR LF the same way
    ("/sea\trch?q=x", "/search?q=x"), (" /search ", "/search")])
def test_odd_but_local_next_is_cleaned_as_a_browser_would(client, target, location):
    response = try_login(client, next=target)
    assert response.headers["Location"] == location
    assert_stays_on_site(location)


@pytest.mark.parametrize("raw", [
    "/%09/evil.example", "/%0a/evil.example", "/%0d%0a/evil.example", "%2F%09%2Fevil.example",
    "/%5Cevil.example", "//evil.example", "https:evil.example", "/%00/evil.example",
    "%0d%0aLocation:%20https://evil.example", "/%252F/evil.example", "/%E0%A4%A", "%",
    "/%E3%80%80/evil.example"])
def test_hostile_next_in_the_link_is_never_followed_off_site(client, raw):
    """The real flow: a link /login?next=… as an attacker writes it, the form, then the POST."""
    soup = login_page(client, "next=" + raw)
    carried = soup.select_one("input[name=next]")["value"]
    assert_stays_on_site(carried)
    token = soup.select_one("input[name=csrf_token]")["value"]
    response = client.post("/login", data={"csrf_token": token, "username": "can_bo",
                                           "password": STAFF_PASSWORD, "next": carried})
    assert response.status_code == 302
    assert_stays_on_site(response.headers["Location"])


@pytest.mark.parametrize("target, location", [
    ("/search?q=sen+hong", "/search?q=sen+hong"),
    ("/documents/noi-bo-tt-07", "/documents/noi-bo-tt-07"),
    ("/search?q=phòng cháy&type=Kế hoạch",
     "/search?q=ph%C3%B2ng%20ch%C3%A1y&type=K%E1%BA%BF%20ho%E1%BA%A1ch"),
    ("/documents/tin-tuc.jsonl%231", "/documents/tin-tuc.jsonl%231"),
])
def test_a_path_on_this_site_is_where_login_returns(client, target, location):
    response = try_login(client, next=target)
    assert response.headers["Location"] == location
    assert client.get(location).status_code == 200


# -- sessions end on the server ---------------------------------------------------------------
def logout(client):
    token = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser").select_one(
        "form[action='/logout'] input[name=csrf_token]")["value"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_a_cookie_saved_before_logout_is_anonymous_after_it(app, client):
    assert try_login(client).status_code == 302
    saved = session_cookie(client)
    assert sees_internal(client_with_cookie(app, saved))
    logout(client)
    replay = client_with_cookie(app, saved)
    assert not sees_internal(replay)
    assert SECRET_WORDS not in replay.get("/search?q=sen+hong").get_data(as_text=True)
    page = login_page(replay)
    assert page.select_one(".badge-internal") is None
    assert page.select_one("form[action='/logout']") is None


def test_logging_out_in_one_process_ends_the_session_in_another(make_app, library):
    first, second = make_app(LIBRARY_DIR=str(library)), make_app(LIBRARY_DIR=str(library))
    browser = first.test_client()
    assert try_login(browser).status_code == 302
    saved = session_cookie(browser)
    assert sees_internal(client_with_cookie(second, saved))
    logout(browser)
    assert not sees_internal(client_with_cookie(second, saved))


def test_logging_in_again_ends_the_earlier_session(app, client):
    assert try_login(client).status_code == 302
    earlier = session_cookie(client)
    assert try_login(client).status_code == 302
    assert session_cookie(client) != earlier
    assert not sees_internal(client_with_cookie(app, earlier))
    assert sees_internal(client)


def test_a_session_cookie_planted_before_login_is_not_promoted(app, client):
    client.get("/login")
    planted = session_cookie(client)             # the anonymous cookie carrying the CSRF token
    assert try_login(client).status_code == 302
    assert not sees_internal(client_with_cookie(app, planted))


def sessions_db(library) -> sqlite3.Connection:
    return sqlite3.connect(library / "sessions.sqlite3", isolation_level=None)


@pytest.mark.parametrize("column, seconds_ago, live", [
    ("last_seen", 59 * 60, True), ("last_seen", 61 * 60, False),
    ("created", 11 * 3600, True), ("created", 12 * 3600 + 60, False)])
def test_sessions_end_after_idle_and_absolute_timeouts(client, library, column, seconds_ago, live):
    assert try_login(client).status_code == 302
    with sessions_db(library) as db:               # move the session back in time
        db.execute(f"UPDATE staff_sessions SET {column} = {column} - ?", (seconds_ago,))
    assert sees_internal(client) is live


def test_removing_a_user_from_the_settings_ends_their_sessions(make_app, library):
    browser = make_app(LIBRARY_DIR=str(library)).test_client()
    assert try_login(browser).status_code == 302
    other_users = make_app(LIBRARY_DIR=str(library), STAFF_USERS="")
    assert not sees_internal(client_with_cookie(other_users, session_cookie(browser)))


def test_the_database_holds_only_a_hash_of_the_session_id(app, client, library):
    assert try_login(client).status_code == 302
    data = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    with sessions_db(library) as db:
        rows = db.execute("SELECT id_hash, username, revoked FROM staff_sessions").fetchall()
    assert rows == [(hashlib.sha256(data["sid"].encode()).hexdigest(), "can_bo", None)]
    assert data["sid"] not in (library / "sessions.sqlite3").read_bytes().decode("latin-1")
    assert set(data) == {"sid", "csrf"}


# -- cookie flags and caching ------------------------------------------------------------------
def login_cookie_header(client) -> str:
    response = try_login(client)
    assert response.status_code == 302
    return response.headers["Set-Cookie"]


def test_the_secure_flag_follows_the_setting(make_app, library):
    plain = login_cookie_header(make_app(LIBRARY_DIR=str(library)).test_client())
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    secure = login_cookie_header(make_app(LIBRARY_DIR=str(library),
                                          COOKIE_SECURE=True).test_client())
    assert "Secure" in secure and "HttpOnly" in secure


@pytest.mark.parametrize("raw, value", [("1", True), ("on", True), ("0", False), ("", False)])
def test_cookie_secure_from_the_environment(monkeypatch, raw, value):
    monkeypatch.setenv("SEARCH_COOKIE_SECURE", raw)
    assert config.load()["COOKIE_SECURE"] is value


def test_a_mistyped_yes_no_setting_is_an_error(monkeypatch):
    monkeypatch.setenv("SEARCH_COOKIE_SECURE", "có")
    with pytest.raises(ValueError, match="yes/no"):
        config.load()


@pytest.mark.parametrize("url", ["/", "/search?q=sen+hong", "/documents/noi-bo-tt-07",
                                 "/api/search?q=sen+hong", "/feed.xml"])
def test_nothing_a_staff_member_sees_is_stored_by_caches(client, url):
    assert try_login(client).status_code == 302
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_login_page_is_not_cached_but_public_pages_may_be(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    # Public pages may be kept (revalidated by their ETag), never marked no-store.
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


# -- a real server: parallel guessing and the bytes of the redirect -----------------------------
@contextmanager
def serving(app):
    """``app`` on a threaded werkzeug server on a free port of 127.0.0.1."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=5)


class Visitor:
    """One browser's worth of state over ``http.client``: the session cookie and a CSRF token."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.cookie = ""
        body = self.request("GET", "/login").read().decode()
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)

    def request(self, method, path, form=None) -> http.client.HTTPResponse:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, urlencode(form) if form else None, headers)
        response = self.conn.getresponse()
        if response.getheader("Set-Cookie"):
            morsel = SimpleCookie(response.getheader("Set-Cookie"))["session"]
            self.cookie = f"session={morsel.value}"
        return response

    def login(self, password, **extra) -> http.client.HTTPResponse:
        response = self.request("POST", "/login", {"csrf_token": self.token, "username": "can_bo",
                                                   "password": password, **extra})
        response.read()
        return response


def test_parallel_guesses_get_no_more_than_the_limit(make_app, library):
    app = make_app(LIBRARY_DIR=str(library), LOGIN_CLIENT_LIMIT="1000 per minute")
    statuses, barrier = [], threading.Barrier(8)

    def guess():
        visitor = Visitor(port)
        barrier.wait(timeout=10)
        for n in range(4):
            for _ in range(200):          # "busy" (503) takes no try: ask again, as a bot would
                status = visitor.login(f"sai-{n}").status
                if status != 503:
                    break
            statuses.append(status)

    with serving(app) as port:
        threads = [threading.Thread(target=guess) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(statuses) == [401] * 5 + [429] * 27
        assert Visitor(port).login(STAFF_PASSWORD).status == 429


@pytest.mark.parametrize("raw", ["/%09/evil.example", "/%5Cevil.example", "/%0d%0a/evil.example",
                                 "%2F%2Fevil.example", "https:evil.example"])
def test_the_redirect_on_the_wire_stays_on_site(make_app, library, raw):
    with serving(make_app(LIBRARY_DIR=str(library))) as port:
        visitor = Visitor(port)
        page = visitor.request("GET", "/login?next=" + raw)
        carried = re.search(r'name="next" value="([^"]*)"', page.read().decode()).group(1)
        response = visitor.login(STAFF_PASSWORD, next=carried)
        assert response.status == 302
        assert response.getheader("Location") == "/"
        assert json.loads(visitor.request("GET", "/api/search?q=sen+hong").read())["total"] == 2


# -- the shared limiter answers any other limited route in the same two shapes -----------------
def test_a_limited_route_without_its_own_page_gets_the_shared_429(make_app, library):
    from search_service.web.limits import limiter

    app = make_app(LIBRARY_DIR=str(library))

    @app.route("/api/thu-gioi-han")
    @limiter.limit("1 per minute")
    def limited_json():
        return {"ok": True}

    @app.route("/thu-gioi-han")
    @limiter.limit("1 per minute")
    def limited_page():
        return "ok"

    client = app.test_client()
    assert client.get("/api/thu-gioi-han").status_code == 200
    refused = client.get("/api/thu-gioi-han")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/thu-gioi-han").status_code == 200
    page = BeautifulSoup(client.get("/thu-gioi-han").get_data(as_text=True), "html.parser")
    assert " ".join(page.h1.get_text().split()) == "Quá nhiều yêu cầu"
    assert "Xin thử lại sau 1 phút." in page.get_text()


def test_a_server_nobody_logs_in_to_writes_no_session_file(client, library):
    for url in ("/", "/search?q=phong+chay", "/login", "/api/search?q=sen+hong"):
        assert client.get(url).status_code == 200
    assert not library.exists()
    assert try_login(client).status_code == 302
    assert (library / "sessions.sqlite3").exists()
