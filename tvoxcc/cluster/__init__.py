"""The deployment's service instances: heartbeats, who is active for each role, one active instance per role.

- ``beating(store, ServiceKind.VOICE, lease="acd")``: this process's service_instances row while it runs
  (tvoxcc.cluster.heartbeat);
- ``cluster_report(instances, leases, now)``: what ``tvoxcc cluster status`` prints (tvoxcc.cluster.status);
- ``run_as_leader(store, "support", stop, work)``: ``work`` runs only while this instance holds the role's
  lease; the other instances stand by (tvoxcc.cluster.leader).
"""

from tvoxcc.cluster.heartbeat import HEARTBEAT_S, Heartbeat, ServiceKind, beating
from tvoxcc.cluster.leader import run_as_leader
from tvoxcc.cluster.status import STALE_BEATS, Role, cluster_report

__all__ = [
    "HEARTBEAT_S",
    "STALE_BEATS",
    "Heartbeat",
    "Role",
    "ServiceKind",
    "beating",
    "cluster_report",
    "run_as_leader",
]
