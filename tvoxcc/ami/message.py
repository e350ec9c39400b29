"""``AmiMessage``: an immutable, case-insensitive view of one AMI response or event."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AmiMessage(Mapping[str, str]):
    """Headers are looked up case-insensitively; a repeated header (``Output``, ``ChanVariable``)
    reads as its last value via ``[]`` and fully via ``get_all``."""

    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    content: str = ""

    @classmethod
    def from_panoramisk(cls, message: Any) -> AmiMessage:
        headers: dict[str, tuple[str, ...]] = {}
        for key in message:
            value = message[key]
            if key == "content":  # panoramisk stores the body as a pseudo-header
                continue
            values = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
            headers[str(key).lower()] = values
        return cls(headers=headers, content=str(message.get("content", "") or ""))

    def __getitem__(self, key: str) -> str:
        return self.headers[key.lower()][-1]

    def __iter__(self) -> Iterator[str]:
        return iter(self.headers)

    def __len__(self) -> int:
        return len(self.headers)

    def get_all(self, key: str) -> tuple[str, ...]:
        return self.headers.get(key.lower(), ())

    @property
    def name(self) -> str:
        """The event name (``Newchannel``, ``VarSet``...), or ``""`` for a response."""
        return self.get("event", "")

    @property
    def success(self) -> bool:
        return self.get("response", "").lower() in ("success", "follows", "goodbye") or bool(self.name)


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """The response to one action; ``events`` holds the list for EventList actions (``*Complete`` last)."""

    response: AmiMessage
    events: tuple[AmiMessage, ...] = ()

    @property
    def message(self) -> str:
        return self.response.get("message", "")
