"""Every table of the shared store. Import models from here."""

from tvoxcc.store.base import Base, TenantScoped
from tvoxcc.store.models.acd import AcdAgent, AcdCommand, AcdInput, AcdItem, AcdLease, AcdQueue
from tvoxcc.store.models.agent_calls import AgentCall, CallScript, RecordingRequest, ScriptAnswer
from tvoxcc.store.models.audit import AuditEntry, AuditHead
from tvoxcc.store.models.campaigns import (
    AbandonLedgerRow,
    Campaign,
    CampaignAttempt,
    CampaignGroup,
    CampaignQueue,
    CampaignRecord,
    DncNumber,
)
from tvoxcc.store.models.chat import Chat, ChatMessage
from tvoxcc.store.models.cluster import ServiceInstance
from tvoxcc.store.models.contacts import Contact, ContactEmail, ContactMerge, ContactPhone, Erasure
from tvoxcc.store.models.followups import Callback, NpsAnswer
from tvoxcc.store.models.insight import InsightRefresh, InsightSlot
from tvoxcc.store.models.interactions import Interaction, InteractionEvent
from tvoxcc.store.models.ivr import IvrFlow, Prompt
from tvoxcc.store.models.live import LiveAgent, LiveQueue, LiveTenant, WebSession
from tvoxcc.store.models.mail import MailboxState, MailRejection, OutboxKind, OutboxMail, OutboxStatus
from tvoxcc.store.models.org import (
    ActivityCode,
    Agent,
    AgentGroup,
    AgentSkill,
    Did,
    GroupMember,
    GroupQueue,
    Queue,
    QueueMember,
    QueueSkill,
    Service,
    Skill,
    Tenant,
    User,
    UserGroup,
)
from tvoxcc.store.models.recordings import Recording
from tvoxcc.store.models.supervision import ListenSession
from tvoxcc.store.models.support import (
    Attachment,
    KbArticle,
    KbArticleVersion,
    SupportAgentState,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketMessage,
)

__all__ = [
    "AbandonLedgerRow",
    "AcdAgent",
    "AcdCommand",
    "AcdInput",
    "AcdItem",
    "AcdLease",
    "AcdQueue",
    "ActivityCode",
    "Agent",
    "AgentCall",
    "AgentGroup",
    "AgentSkill",
    "Attachment",
    "AuditEntry",
    "AuditHead",
    "Base",
    "CallScript",
    "Callback",
    "Campaign",
    "CampaignAttempt",
    "CampaignGroup",
    "CampaignQueue",
    "CampaignRecord",
    "Chat",
    "ChatMessage",
    "Contact",
    "ContactEmail",
    "ContactMerge",
    "ContactPhone",
    "Did",
    "DncNumber",
    "Erasure",
    "GroupMember",
    "GroupQueue",
    "InsightRefresh",
    "InsightSlot",
    "Interaction",
    "InteractionEvent",
    "IvrFlow",
    "KbArticle",
    "KbArticleVersion",
    "ListenSession",
    "LiveAgent",
    "LiveQueue",
    "LiveTenant",
    "MailRejection",
    "MailboxState",
    "NpsAnswer",
    "OutboxKind",
    "OutboxMail",
    "OutboxStatus",
    "Prompt",
    "Queue",
    "QueueMember",
    "QueueSkill",
    "Recording",
    "RecordingRequest",
    "ScriptAnswer",
    "Service",
    "ServiceInstance",
    "Skill",
    "SupportAgentState",
    "Tenant",
    "TenantScoped",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketMessage",
    "User",
    "UserGroup",
    "WebSession",
]
