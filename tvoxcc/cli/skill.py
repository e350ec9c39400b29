"""`tvoxcc skill`: the skills agents have and queues require."""

from tvoxcc.admin.spec import SkillSpec
from tvoxcc.cli._entity import Noun, entity_group

skill = entity_group(Noun("skill", "skills", SkillSpec, ["description"], kind="skill"))
