"""Reads about people that more than one app needs."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from accounts.models import User


def request_user(request: Request | HttpRequest) -> User:
    """The signed-in person of a request, typed as a ``User``. Views behind authentication call
    it instead of reading ``request.user``; an anonymous request gets DRF's 401."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def request_session_id(request: Request | HttpRequest) -> str | None:
    """The session (``sid``) of the request's access token, if it came with one."""
    token = getattr(request, "auth", None)
    if token is None or not hasattr(token, "get"):
        return None
    sid = token.get("sid")
    return str(sid) if sid else None
