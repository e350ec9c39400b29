"""The pure parts of recordings: policy, sampling, encryption format, WAV inspection."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.recording_files import make_wav, soxi_seconds
from tvoxcc.config import RecordingSettings, TenantRecordingSettings
from tvoxcc.recordings import crypto
from tvoxcc.recordings.audio import NotAudio, inspect
from tvoxcc.recordings.policy import RecordingPolicy as P
from tvoxcc.recordings.policy import effective_policy, records_at_answer
from tvoxcc.recordings.retention import retention_days


def test_the_record_flag_means_always_unless_a_policy_is_set() -> None:
    assert effective_policy(True, None) is P.ALWAYS
    assert effective_policy(False, None) is P.NEVER
    assert effective_policy(True, "never") is P.NEVER
    assert effective_policy(False, "sampled") is P.SAMPLED


def test_sampling_records_about_the_share_asked() -> None:
    rng = random.Random(7)
    recorded = sum(records_at_answer(P.SAMPLED, 20, rng.random()) for _ in range(10_000))
    assert 1800 < recorded < 2200
    assert all(records_at_answer(P.ALWAYS, 0, d) for d in (0.0, 0.99))
    assert not any(records_at_answer(p, 100, 0.0) for p in (P.NEVER, P.ON_DEMAND))


def test_encryption_round_trip_and_tamper(tmp_path: Path) -> None:
    audio = make_wav(tmp_path / "a.wav", 1.0).read_bytes()
    key = crypto._decode(crypto.new_key().encode(), "test")
    blob = crypto.encrypt(key, audio)
    assert crypto.is_encrypted(blob) and crypto.decrypt(key, blob) == audio
    assert crypto.encrypt(key, audio) != blob  # a fresh nonce each time
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(crypto.RecordingKeyError):
        crypto.decrypt(key, tampered)
    with pytest.raises(crypto.RecordingKeyError):
        crypto.decrypt(b"x" * 32, blob)


def test_tenant_keys_from_settings(tmp_path: Path) -> None:
    raw = tmp_path / "raw.key"
    raw.write_bytes(b"r" * 32)
    settings = RecordingSettings(
        retention_days=90,
        tenants={
            "a": TenantRecordingSettings(key=crypto.new_key(), retention_days=7),
            "b": TenantRecordingSettings(key_file=raw),
            "c": TenantRecordingSettings(key_file=tmp_path / "missing"),
        },
    )
    assert len(crypto.tenant_key(settings, "a") or b"") == 32
    assert crypto.tenant_key(settings, "b") == b"r" * 32
    assert crypto.tenant_key(settings, "none") is None
    with pytest.raises(crypto.RecordingKeyError, match=r"recordings\.tenants\.c\.key_file: cannot read"):
        crypto.tenant_key(settings, "c")
    assert (retention_days(settings, "a"), retention_days(settings, "b")) == (7, 90)


def test_wav_inspection_matches_soxi(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "a.wav", 3.25)
    info = inspect(path.read_bytes())
    assert info.format == "wav" and info.duration_s == pytest.approx(soxi_seconds(path), abs=0.001)
    with pytest.raises(NotAudio):
        inspect(b"RIFF....not really")
