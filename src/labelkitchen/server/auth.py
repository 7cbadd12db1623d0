"""Who is calling: a signed session cookie (browser) or a Bearer token (scripts); CSRF; throttle.

Sessions are Starlette's signed cookie (HttpOnly, SameSite=Lax) holding the user id, a
fingerprint of their password hash (a password change ends every session) and a CSRF token.
Every state-changing request that rides on the cookie must echo the CSRF token in the
``X-CSRF-Token`` header; Bearer requests carry no ambient authority and need none.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from fastapi import Request

from labelkitchen.errors import PermissionDenied
from labelkitchen.server.errors import NotAuthenticated
from labelkitchen.services import accounts
from labelkitchen.services.accounts import User
from labelkitchen.store import Store

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


def log_in(request: Request, user: User) -> str:
    request.session.clear()
    token = secrets.token_urlsafe(32)
    request.session.update({"uid": user.id, "pw": user.password_fingerprint, "csrf": token})
    return token


def log_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str | None:
    token = request.session.get("csrf")
    return token if isinstance(token, str) else None


def identify(request: Request, store: Store) -> User | None:
    """The caller, or ``None``; Bearer tokens win over cookies."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("use 'Authorization: Bearer TOKEN'")
        user = accounts.user_for_token(store, token=token.strip())
        if user is None:
            raise NotAuthenticated("the API token is unknown, revoked or expired")
        request.state.via_token = True
        return user
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = accounts.get_user(store, user_id=uid)
    if user is None or not user.is_active or user.password_fingerprint != request.session.get("pw"):
        request.session.clear()
        return None
    request.state.via_token = False
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        expected = csrf_token(request)
        if not sent or not expected or not secrets.compare_digest(sent, expected):
            raise PermissionDenied("missing or wrong CSRF token (send the X-CSRF-Token header)")
    return user


class AuthCache:
    """Callers and their project access for the hot annotation routes, for ``ttl`` seconds.

    Saves two queries per request at annotation speed. A revoked token, a changed password or
    a changed role takes effect on those routes within ``ttl`` seconds (changes made through
    this server's API clear the cache at once); every other route checks afresh.
    """

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._items: dict[tuple[object, ...], tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> object | None:
        with self._lock:
            item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: tuple[object, ...], value: object) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class LoginThrottle:
    """At most ``attempts`` failures per (username, address) in ``window`` seconds."""

    def __init__(self, *, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this pair may try again (0 when it may now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent((username.lower(), address), now)
            if len(failures) < self.attempts:
                return 0.0
            return max(0.0, failures[0] + self.window - now)

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent((username.lower(), address), now).append(now)
            if len(self._failures) > 100_000:  # bound memory under a spray of usernames
                self._failures.clear()

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), address), None)
