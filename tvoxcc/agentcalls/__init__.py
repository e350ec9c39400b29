"""Calls agents place themselves: ``9`` + number from their phone, or click-to-call from the desktop."""
