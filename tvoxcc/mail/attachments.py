"""Attachment names made safe to show and save, and executables kept out of the store. Pure.

A name comes from the sender: it may hold a path (``../../x.sh``, ``C:\\x\\y.txt``), control
characters, or a right-to-left override that shows ``photo\u202egpj.exe`` as ``photoexe.jpg``.
Executables are blocked by name (also behind a harmless-looking first extension: ``.pdf.exe``),
by declared type, and by their first bytes (a "PDF" starting with ``MZ`` is a Windows program).
"""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 120

# Gmail's blocked file types (support.google.com/mail/answer/6590), and shell and registry scripts.
_BLOCKED_EXTENSION_WORDS = (
    "ade adp apk appx appxbundle application bat cab chm cmd com cpl diagcab diagcfg diagpack dll dmg ex "
    "ex_ exe gadget hta img inf ins iso isp jar jnlp js jse lib lnk mde msc msh msi msix msixbundle msp "
    "mst nsh pif ps1 ps1xml ps2 psc1 reg scf scr sct sh shb sys url vb vbe vbs vhd vhdx vxd wsc wsf wsh "
    "xll"
)
BLOCKED_EXTENSIONS = frozenset(_BLOCKED_EXTENSION_WORDS.split())
BLOCKED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-ms-shortcut",
        "application/vnd.microsoft.portable-executable",
        "application/java-archive",
        "application/x-java-archive",
        "application/hta",
        "application/javascript",
        "application/x-javascript",
        "text/javascript",
        "application/x-sh",
        "application/x-bat",
        "application/x-csh",
        "text/vbscript",
        "application/x-vbscript",
    }
)
# First bytes of programs: Windows PE/DOS, ELF, Mach-O (32/64 bit, both byte orders), a Windows shortcut.
_PROGRAM_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"L\x00\x00\x00\x01\x14\x02\x00",
)


def printable(text: str) -> str:
    """Without control, format (bidi overrides, zero-width) and line/paragraph separator characters."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else " " for ch in text)


def safe_filename(name: str, fallback: str) -> str:
    """The last path component, printable, without leading/trailing dots and spaces, bounded, never empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = " ".join(printable(base).split()).strip(". ")
    if not base:
        return fallback
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        keep = f".{ext}" if dot and stem and len(ext) <= 16 else ""
        base = base[: MAX_NAME_CHARS - len(keep)].rstrip(". ") + keep
    return base


def blocked_reason(filename: str, content_type: str, data: bytes) -> str | None:
    """Why these bytes must not be stored (an executable), or None."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension in BLOCKED_EXTENSIONS:
        return f"executable file type .{extension}"
    if content_type.lower() in BLOCKED_TYPES:
        return f"executable content type {content_type.lower()}"
    if data.startswith(_PROGRAM_MAGIC):
        return "executable content (a program's first bytes)"
    return None
