"""Session cookies: signed, expiring, bound to a CSRF token; no open redirect after login."""

from __future__ import annotations

import time

import pytest

from medqc.auth import Principal, StaticToken
from medqc.settings import Settings
from medqc.workstation.session import COOKIE, Sessions, launch_params, safe_next

PRINCIPAL = Principal(subject="reviewer-1", scopes=frozenset({"user/*.read"}))


def sessions(key: bytes = b"k" * 32, ttl: int = 3600) -> Sessions:
    return Sessions(StaticToken("t"), key=key, ttl_s=ttl, secure=False)


def scope(cookie: str | None = None, accept: str = "text/html", method: str = "GET") -> dict[str, object]:
    headers = [(b"accept", accept.encode())]
    if cookie is not None:
        headers.append((b"cookie", f"other=1; {COOKIE}={cookie}".encode()))
    return {
        "type": "http",
        "method": method,
        "path": "/review/Encounter/e1",
        "query_string": b"launch=L",
        "headers": headers,
    }


def test_a_session_round_trips_with_its_launch() -> None:
    s = sessions()
    value = s.issue(PRINCIPAL, expires=None, launch="L1", iss="https://ehr.example/fhir")
    session = s.session_of(scope(value))
    assert session is not None
    assert session.principal == PRINCIPAL
    assert (session.launch, session.iss) == ("L1", "https://ehr.example/fhir")
    assert s.csrf_ok(session, s.csrf_token(session))
    assert not s.csrf_ok(session, s.csrf_token(None))
    assert not s.csrf_ok(session, None)


def test_tampered_foreign_or_expired_cookies_are_no_session() -> None:
    s = sessions()
    value = s.issue(PRINCIPAL, expires=None, launch=None, iss=None)
    header, payload, signature = value.split(".")
    assert s.verify(f"{header}.{payload}.{signature[:-2]}AA") is None
    assert sessions(key=b"other" * 8).verify(value) is None
    expired = s.issue(PRINCIPAL, expires=int(time.time()) - 1, launch=None, iss=None)
    assert s.verify(expired) is None
    assert s.verify("not-a-jwt") is None
    assert s.session_of(scope(None)) is None


def test_a_session_ends_with_its_access_token() -> None:
    s = sessions(ttl=3600)
    soon = int(time.time()) + 60
    session = s.verify(s.issue(PRINCIPAL, expires=soon, launch=None, iss=None))
    assert session is not None
    assert session.expires == soon


def test_browsers_are_sent_to_login_and_api_clients_are_not() -> None:
    s = sessions()
    assert s.login_location(scope()) == "/review/login?next=%2Freview%2FEncounter%2Fe1%3Flaunch%3DL"
    assert s.login_location(scope(accept="application/json")) is None
    assert s.login_location(scope(method="POST")) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/review/rates", "/review/rates"),
        ("https://evil.example/review", "/review"),
        ("//evil.example/review", "/review"),
        ("/fhir/Patient", "/review"),
        (None, "/review"),
    ],
)
def test_no_open_redirect(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_launch_params_come_from_the_card_link() -> None:
    assert launch_params("/review/Encounter/e?launch=a&iss=b") == ("a", "b")
    assert launch_params("/review") == (None, None)


def test_key_from_settings() -> None:
    cookie = Sessions.from_settings(Settings(fhir_access_token="t"), StaticToken("t")).issue(
        PRINCIPAL, expires=None, launch=None, iss=None
    )
    replica = Sessions.from_settings(Settings(fhir_access_token="t"), StaticToken("t"))
    assert replica.verify(cookie) is not None  # every replica of the demo accepts it
    secret = Sessions.from_settings(
        Settings(session_secret="s" * 32, fhir_access_token="t"), StaticToken("t")
    )
    assert secret.verify(cookie) is None
