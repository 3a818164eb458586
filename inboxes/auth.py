"""Staff log in with the email given to `createorg`."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        identifier = (username or kwargs.get("email") or "").strip()
        if not identifier or password is None:
            return None
        user_model = get_user_model()
        user = (
            user_model.objects.filter(email__iexact=identifier).first()
            or user_model.objects.filter(username=identifier).first()
        )
        if user is None:
            user_model().set_password(password)  # same work either way: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
