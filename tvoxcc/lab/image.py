"""The lab image: a Debian sid root with Asterisk 22, built once with debootstrap and kept as a zstd tarball.

A cold build takes about a minute; every later lab start only extracts the tarball (a few seconds).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tvoxcc.lab.errors import LabError

TARBALL_NAME = "asterisk22-root.tar.zst"
PACKAGES = ("asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm")
ZSTD = "zstd -T0"
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C",
    "DEBIAN_FRONTEND": "noninteractive",
    "HOME": "/root",
}

Say = Callable[[str], None]


@contextmanager
def locked(lock_file: Path, say: Say, what: str) -> Iterator[None]:
    """An exclusive flock: a test run and the demo never build or start the same thing at once."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another {what} ({lock_file})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _run(args: list[str], log: Path, what: str) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        result = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, env=CHROOT_ENV, check=False)
    if result.returncode != 0:
        raise LabError(f"{what} failed (exit {result.returncode}); see {log}")


def _need_tools() -> None:
    for tool in ("debootstrap", "chroot", "tar", "zstd"):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} not found: apt-get install debootstrap zstd")


def _bootstrap(root: Path, mirror: str, log: Path, say: Say) -> None:
    started = time.monotonic()
    say(f"debootstrap sid from {mirror} (about 30 s)")
    _run(["debootstrap", "--variant=minbase", "sid", str(root), mirror], log, "debootstrap")
    say(f"debootstrap done in {time.monotonic() - started:.0f} s")
    # sid's Release file can carry a Valid-Until in the past on snapshot mirrors.
    (root / "etc/apt/apt.conf.d/99tvoxcc-lab").write_text('Acquire::Check-Valid-Until "false";\n')
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text(
        "#!/bin/sh\n# tvoxcc lab: packages never start services; the lab starts Asterisk itself.\nexit 101\n"
    )
    policy.chmod(0o755)
    started = time.monotonic()
    say(f"installing {', '.join(PACKAGES)} (about 20 s)")
    _run(["chroot", str(root), "apt-get", "update", "-q"], log, "apt-get update in the lab root")
    install = ["chroot", str(root), "apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    _run(install, log, "apt-get install asterisk in the lab root")
    _run(["chroot", str(root), "apt-get", "clean"], log, "apt-get clean")
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)
    say(f"packages installed in {time.monotonic() - started:.0f} s")


def ensure_image(cache_dir: Path, mirror: str, say: Say) -> Path:
    """The cached tarball, building it first if needed; returns its path."""
    tarball = cache_dir / TARBALL_NAME
    if tarball.is_file():
        return tarball
    _need_tools()
    cache_dir.mkdir(parents=True, exist_ok=True)
    with locked(cache_dir / ".build.lock", say, "lab image build"):
        if tarball.is_file():  # built by whoever held the lock
            return tarball
        build = cache_dir / "build-root"
        log = cache_dir / "build.log"
        log.write_text("")
        shutil.rmtree(build, ignore_errors=True)
        started = time.monotonic()
        say(f"building the lab image in {cache_dir} (first time only, about a minute; log: {log})")
        _bootstrap(build, mirror, log, say)
        say("packing the lab image (zstd)")
        temp = cache_dir / f".{TARBALL_NAME}.{os.getpid()}.tmp"
        _run(["tar", "-C", str(build), "--numeric-owner", "-I", ZSTD, "-cf", str(temp), "."], log, "tar")
        temp.replace(tarball)  # atomic: a reader sees a whole tarball or none
        shutil.rmtree(build, ignore_errors=True)
        size = tarball.stat().st_size / 2**20
        say(f"lab image ready: {tarball} ({size:.0f} MiB) in {time.monotonic() - started:.0f} s")
    return tarball


def extract_image(tarball: Path, root: Path, say: Say) -> None:
    started = time.monotonic()
    say(f"extracting {tarball.name} into {root}")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    root.chmod(0o755)
    log = root.parent / "extract.log"
    log.write_text("")
    _run(["tar", "-C", str(root), "--numeric-owner", "-I", ZSTD, "-xpf", str(tarball)], log, "extracting the lab image")
    say(f"extracted in {time.monotonic() - started:.1f} s")
