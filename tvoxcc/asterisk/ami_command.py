"""A minimal AMI client for one thing: log in, run CLI commands (reloads), log off.

Blocking sockets on purpose: the CLI and the test fixtures call it without an event loop. The full AMI
adapter (events, reconnects) lives in tvoxcc.ami.
"""

from __future__ import annotations

import io
import itertools
import socket
from dataclasses import dataclass, field

from tvoxcc.config import AsteriskSettings


class AmiError(Exception):
    """AMI refused, failed or timed out; the message never holds the secret."""


@dataclass
class AmiCommandClient:
    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, asterisk: AsteriskSettings) -> AmiCommandClient:
        return cls(asterisk.ami_host, asterisk.ami_port, asterisk.ami_user, asterisk.ami_secret.get_secret_value())

    def run(self, *commands: str) -> list[str]:
        """Run each CLI command in order; returns each command's output."""
        where = f"AMI {self.host}:{self.port}"
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                reader = sock.makefile("rb")
                reader.readline()  # "Asterisk Call Manager/x.y.z"
                credentials = {"Action": "Login", "Username": self.username, "Secret": self.secret}
                login = self._action(sock, reader, credentials)
                if login.get("Response") != "Success":
                    raise AmiError(f"{where}: login as {self.username!r} refused: {login.get('Message', '?')}")
                outputs = []
                for command in commands:
                    reply = self._action(sock, reader, {"Action": "Command", "Command": command})
                    if reply.get("Response") == "Error":
                        raise AmiError(f"{where}: {command!r} failed: {reply.get('Message', '?')}")
                    outputs.append(reply.get("Output", ""))
                self._action(sock, reader, {"Action": "Logoff"})
                return outputs
        except OSError as exc:
            raise AmiError(f"{where}: {exc.strerror or exc}") from exc

    def _action(self, sock: socket.socket, reader: io.BufferedReader, fields: dict[str, str]) -> dict[str, str]:
        action_id = f"tvoxcc-{next(_action_ids)}"
        text = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + f"ActionID: {action_id}\r\n\r\n"
        sock.sendall(text.encode())
        while True:
            message = _read_message(reader)
            # Skip events and anything not answering this action.
            if message.get("ActionID") == action_id and "Response" in message:
                return message


_action_ids = itertools.count(1)


def _read_message(reader: io.BufferedReader) -> dict[str, str]:
    message: dict[str, str] = {}
    output: list[str] = []
    while True:
        raw = reader.readline()
        if not raw:
            raise AmiError("AMI closed the connection")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if message:
                break
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            output.append(line)
        elif key == "Output":
            output.append(value)  # Asterisk 14+: one "Output:" header per line of command output
        else:
            message[key] = value
    if output:
        message["Output"] = "\n".join(output)
    return message
