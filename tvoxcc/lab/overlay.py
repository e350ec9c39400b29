"""One root per Asterisk node without copying it: an overlay mount over the lab's extracted root.

node_dir/upper, node_dir/work   the node's own changes (configs, logs, spool), fresh at every mount
node_dir/root                   what the node's Asterisk sees (the mount point)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tvoxcc.lab.errors import LabError


def mount(lower: Path, node_dir: Path) -> Path:
    """Mount ``lower`` + a fresh upper layer on ``node_dir/root``; returns the mount point."""
    root = node_dir / "root"
    unmount(root)
    for name in ("upper", "work"):
        shutil.rmtree(node_dir / name, ignore_errors=True)
        (node_dir / name).mkdir(parents=True)
    root.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={lower},upperdir={node_dir / 'upper'},workdir={node_dir / 'work'}"
    command = ["mount", "-t", "overlay", "overlay", "-o", options, str(root)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise LabError(f"overlay mount on {root} failed: {result.stderr.strip() or result.returncode}")
    root.chmod(0o755)
    return root


def unmount(root: Path) -> bool:
    """Unmount ``root`` if it is a mount point; True when it was."""
    if not os.path.ismount(root):
        return False
    result = subprocess.run(["umount", str(root)], capture_output=True, text=True)
    if result.returncode != 0:
        # Still busy (a process of the node not yet gone): detach it now, the kernel frees it when unused.
        subprocess.run(["umount", "-l", str(root)], capture_output=True, text=True)
    return True
