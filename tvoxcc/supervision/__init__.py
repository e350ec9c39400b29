"""Supervisors on live calls: listen, whisper, barge (ARI snoop channels)."""
