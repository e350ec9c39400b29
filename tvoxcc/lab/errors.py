"""The one error type of the lab: its message is printed as a single `error:` line by the CLI."""


class LabError(Exception):
    """The lab cannot do what was asked; the message says what and where."""
