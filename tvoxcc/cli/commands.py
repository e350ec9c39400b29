"""Which module implements each top-level noun of the `tvoxcc` command.

Add a line here when a capability brings a new noun; keep it sorted.
"""

from tvoxcc.cli.main import register

register("acd", "tvoxcc.cli.acd:acd")
register("activity", "tvoxcc.cli.activity:activity")
register("agi", "tvoxcc.cli.agi:agi")
register("agent", "tvoxcc.cli.agent:agent")
register("asterisk", "tvoxcc.cli.asterisk:asterisk")
register("callback", "tvoxcc.cli.callback:callback")
register("campaign", "tvoxcc.cli.campaign:campaign")
register("cluster", "tvoxcc.cli.cluster:cluster")
register("config", "tvoxcc.cli.config:config")
register("db", "tvoxcc.cli.db:db")
register("demo", "tvoxcc.cli.demo:demo")
register("export", "tvoxcc.cli.tenant_io:export_tenant")
register("group", "tvoxcc.cli.group:group")
register("import", "tvoxcc.cli.tenant_io:import_tenant")
register("insight", "tvoxcc.cli.insight:insight")
register("init", "tvoxcc.cli.init:init")
register("ivr", "tvoxcc.cli.ivr:ivr")
register("journey", "tvoxcc.cli.journey:journey")
register("kb", "tvoxcc.cli.kb:kb_group")
register("lab", "tvoxcc.cli.lab:lab")
register("prompts", "tvoxcc.cli.prompts:prompts")
register("queue", "tvoxcc.cli.queue:queue")
register("service", "tvoxcc.cli.service:service")
register("skill", "tvoxcc.cli.skill:skill")
register("support", "tvoxcc.cli.support:support")
register("tenant", "tvoxcc.cli.tenant:tenant")
register("user", "tvoxcc.cli.user:user")
register("voice", "tvoxcc.cli.voice:voice")
register("web", "tvoxcc.cli.web:web_group")
