"""The ACD's queue_log file: appended and readable at once, a new file after the old one was moved away."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tvoxcc.voice.queue_log_file import QueueLogFile


def test_lines_are_readable_at_once_and_a_rotated_file_is_started_again(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    now = [0.0]
    log = QueueLogFile(path, recheck_s=1.0, clock=lambda: now[0])
    log.append(["1|c1|q|NONE|ENTERQUEUE|||1"])
    log.append(["2|c1|q|a|CONNECT|1||1", "3|c1|q|a|COMPLETECALLER|1|1|1"])
    assert path.read_text().splitlines() == ["1|c1|q|NONE|ENTERQUEUE|||1", "2|c1|q|a|CONNECT|1||1",
                                             "3|c1|q|a|COMPLETECALLER|1|1|1"]  # fmt: skip
    path.rename(tmp_path / "queue_log.1")  # logrotate moves it away
    log.append(["4|c2|q|NONE|CONNECT|1||1"])  # within the second: still the moved file (no stat a write)
    assert not path.exists()
    now[0] = 1.0
    log.append(["5|c2|q|NONE|ENTERQUEUE|||1"])  # looked again: a new file
    assert path.read_text() == "5|c2|q|NONE|ENTERQUEUE|||1\n"
    assert (tmp_path / "queue_log.1").read_text().count("\n") == 4
    log.close()
    log.append(["6|c2|q|NONE|ABANDON|1|1|4"])  # usable again after a close
    log.close()
    assert path.read_text().splitlines()[-1] == "6|c2|q|NONE|ABANDON|1|1|4"


async def test_in_a_loop_the_lines_of_one_turn_are_flushed_together_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    log = QueueLogFile(path)
    log.append(["1|c1|q|NONE|ENTERQUEUE|||1"])
    log.append(["2|c1|q|a|CONNECT|1||1"])
    assert path.read_text() == ""  # still this turn: buffered
    await asyncio.sleep(0)  # the loop went on: both lines readable
    assert path.read_text().splitlines() == ["1|c1|q|NONE|ENTERQUEUE|||1", "2|c1|q|a|CONNECT|1||1"]
    log.append(["3|c1|q|a|COMPLETECALLER|1|1|1"])
    log.close()  # a close writes what is buffered
    assert path.read_text().count("\n") == 3
