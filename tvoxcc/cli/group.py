"""`tvoxcc group`: agent groups (teams), for supervision and reports."""

from tvoxcc.admin.spec import GroupSpec
from tvoxcc.cli._entity import Noun, entity_group

group = entity_group(Noun("group", "groups", GroupSpec, ["description"], kind="group"))
