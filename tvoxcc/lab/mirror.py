"""Pick the Debian mirror the lab bootstraps from: the machine's own apt sources, so it works offline-ish
behind the same proxy/mirror as the host."""

from __future__ import annotations

import re
from pathlib import Path

FALLBACK_MIRROR = "http://deb.debian.org/debian"
_DEB_LINE = re.compile(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)")


def _is_main_archive(uri: str) -> bool:
    # Security and ports archives cannot bootstrap sid.
    return uri.startswith(("http://", "https://")) and "security" not in uri and uri.rstrip("/").endswith("debian")


def _from_deb822(text: str) -> list[str]:
    uris: list[str] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes").lower() != "no":
            uris.extend(fields.get("uris", "").split())
    return uris


def _from_one_line(text: str) -> list[str]:
    return [m.group(1) for m in map(_DEB_LINE.match, text.splitlines()) if m]


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    candidates: list[str] = []
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        candidates += _from_deb822(path.read_text(encoding="utf-8", errors="replace"))
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            candidates += _from_one_line(path.read_text(encoding="utf-8", errors="replace"))
    for uri in candidates:
        if _is_main_archive(uri):
            return uri.rstrip("/")
    return FALLBACK_MIRROR
