"""A click option type for moments (tvoxcc.moments): 2026-12-01, 2026-12-01T08:00, 7d, 12h."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from tvoxcc.moments import parse_moment


class Moment(click.ParamType):  # type: ignore[type-arg]
    name = "WHEN"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(str(value), datetime.now(UTC))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
