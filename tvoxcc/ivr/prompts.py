"""Tenant prompts: text turned into 8 kHz mono audio with espeak-ng and sox, and media names for ARI.

A new tenant gets a working voice menu without a studio; a recorded file dropped in the same place
(same name, .wav or .gsm) replaces the synthetic one.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path

# espeak-ng voice per language code (what Debian's espeak-ng-data ships).
VOICES = {"en": "en", "it": "it", "de": "de", "fr": "fr", "es": "es", "pt": "pt", "nl": "nl"}


class PromptRenderError(Exception):
    pass


def media_for(prompt: str, tenant: str, language: str, available: Mapping[str, Collection[str]]) -> str:
    """The ARI media URI of a prompt name used in a flow, in ``language`` when the tenant has it.

    ``available`` maps each tenant prompt to its languages; a prompt missing in the caller's language is
    played in another one rather than not at all.
    """
    if prompt.startswith(("sound:", "digits:", "number:", "recording:", "tone:")):
        return prompt
    languages = available.get(prompt, ())
    chosen = language if language in languages or not languages else sorted(languages)[0]
    return f"sound:tvoxcc/{tenant}/{chosen}/{prompt}"


def prompt_path(sounds_dir: Path, tenant: str, language: str, name: str) -> Path:
    # Our own folder per tenant and language: Debian's sounds/<lang> entries are symlinks into
    # /etc/alternatives, which a host-side writer into a chroot must not follow.
    return sounds_dir / "tvoxcc" / tenant / language / f"{name}.wav"


def render_prompt(text: str, language: str, target: Path) -> None:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        raise PromptRenderError("espeak-ng and sox are needed: apt-get install espeak-ng sox")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.parent.chmod(0o755)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        spoken = subprocess.run(
            [espeak, "-v", VOICES.get(language, "en"), "-s", "150", "-w", str(raw), "--", text],
            capture_output=True,
            text=True,
        )
        if spoken.returncode != 0:
            raise PromptRenderError(f"espeak-ng failed: {spoken.stderr.strip()[:200]}")
        partial = target.with_suffix(".tmp.wav")
        converted = subprocess.run(
            [sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(partial)],
            capture_output=True,
            text=True,
        )
        if converted.returncode != 0:
            raise PromptRenderError(f"sox failed: {converted.stderr.strip()[:200]}")
        partial.chmod(0o644)
        partial.replace(target)
