"""AMI adapter: a thin wrapper over panoramisk 1.4 with timeouts, login failure and clean reconnects."""

from tvoxcc.ami.client import AmiClient, EventCallback, StateCallback
from tvoxcc.ami.errors import AmiActionError, AmiAuthError, AmiError, AmiTimeout, AmiUnavailable
from tvoxcc.ami.message import AmiMessage, AmiResponse

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiClient",
    "AmiError",
    "AmiMessage",
    "AmiResponse",
    "AmiTimeout",
    "AmiUnavailable",
    "EventCallback",
    "StateCallback",
]
