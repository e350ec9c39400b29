"""AMI errors."""

from __future__ import annotations


class AmiError(Exception):
    """Base class for AMI failures."""


class AmiUnavailable(AmiError):
    """Cannot reach AMI, or the connection dropped while an action was pending."""


class AmiAuthError(AmiError):
    """Login refused: wrong ``ami_user``/``ami_secret`` (or the user's permit/deny excludes us)."""


class AmiTimeout(AmiError):
    """No complete response to an action within its timeout."""


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error`` (or ``Fail``); ``response`` holds the message."""

    def __init__(self, action: str, message: str) -> None:
        self.action = action
        self.message = message
        super().__init__(f"AMI {action}: {message}")
