#!/usr/bin/env bash
# Provision one host of a deployment (the Vagrantfile runs it; on real machines run it by hand as root):
#   scripts/provision.sh ROLE OWN_IP DB_IP NODES SIP_IP
#     ROLE   main | support | db
#     OWN_IP this host's address on the private network
#     DB_IP  the PostgreSQL host's address
#     NODES  the Asterisk nodes behind Kamailio, "name=ip,name=ip" (the main hosts; a node's name is its hostname)
#     SIP_IP the host running Kamailio (port 5070; the phones' registrar and the trunks' target); it runs there only
# Idempotent. The database password is generated once on the db host and read from /vagrant/.tvoxcc-db-password
# by the others (shared folder); on real machines copy that file by hand.
set -euo pipefail
ROLE=$1 OWN_IP=$2 DB_IP=$3 NODES=$4 SIP_IP=$5
SRC=${TVOXCC_SRC:-/vagrant}
PASSWORD_FILE=$SRC/.tvoxcc-db-password
export DEBIAN_FRONTEND=noninteractive

apt-get update -q
apt-get install -y -q --no-install-recommends python3 python3-venv git
bash "$SRC/scripts/system-deps.sh"
id tvoxcc >/dev/null 2>&1 || useradd --system --home-dir /var/lib/tvoxcc --shell /usr/sbin/nologin tvoxcc
if [ ! -x /opt/tvoxcc/.venv/bin/tvoxcc ]; then
  python3 -m venv /opt/tvoxcc/.venv
  /opt/tvoxcc/.venv/bin/pip install -q "$SRC"
fi
[ -s "$PASSWORD_FILE" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$PASSWORD_FILE")
DB_PASSWORD=$(cat "$PASSWORD_FILE")

if [ "$ROLE" = db ]; then
  pg_conftool set listen_addresses "127.0.0.1,$OWN_IP"
  grep -q "tvoxcc-net" /etc/postgresql/*/main/pg_hba.conf ||
    echo "host tvoxcc tvoxcc ${OWN_IP%.*}.0/24 scram-sha-256 # tvoxcc-net" >> /etc/postgresql/*/main/pg_hba.conf
  systemctl restart postgresql
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='tvoxcc'\"" | grep -q 1 ||
    su postgres -c "psql -c \"CREATE ROLE tvoxcc LOGIN PASSWORD '$DB_PASSWORD'\" -c 'CREATE DATABASE tvoxcc OWNER tvoxcc'"
fi

if [ "$ROLE" = main ]; then
  # Asterisk 22 is not in Debian 12: take it (and only it) from sid, pinned low so nothing else comes from there.
  echo "deb http://deb.debian.org/debian sid main" > /etc/apt/sources.list.d/sid.list
  printf 'Package: *\nPin: release a=unstable\nPin-Priority: 100\n' > /etc/apt/preferences.d/tvoxcc-sid
  apt-get update -q
  apt-get install -y -q --no-install-recommends -t unstable asterisk asterisk-modules asterisk-core-sounds-en-gsm
fi

mkdir -p /etc/tvoxcc
NODE_LINES=""
IFS=, read -ra PAIRS <<< "$NODES"
for pair in "${PAIRS[@]}"; do
  NODE_LINES+=$'\n'"[[kamailio.nodes]]"$'\n'"name = \"${pair%%=*}\""$'\n'"host = \"${pair#*=}\""$'\n'
done
cat > /etc/tvoxcc/tvoxcc.toml <<TOML
[database]
url = "postgresql+asyncpg://tvoxcc:$DB_PASSWORD@$DB_IP/tvoxcc"

[asterisk]
ari_url = "http://$OWN_IP:8088"
ami_host = "$OWN_IP"
sip_host = "$OWN_IP"

[agi]
host = "$OWN_IP"

[web]
host = "$OWN_IP"

[kamailio]
sip_host = "$SIP_IP"
sip_port = 5070
$NODE_LINES
TOML
chown root:tvoxcc /etc/tvoxcc/tvoxcc.toml
chmod 0640 /etc/tvoxcc/tvoxcc.toml

TVOXCC=/opt/tvoxcc/.venv/bin/tvoxcc
"$TVOXCC" systemd render --role "$ROLE" --out /etc/systemd/system
if [ "$ROLE" = main ]; then
  "$TVOXCC" -c /etc/tvoxcc/tvoxcc.toml asterisk render --node "$(hostname)" --out /etc/asterisk
  systemctl enable --now asterisk
fi
if [ "$OWN_IP" = "$SIP_IP" ]; then
  "$TVOXCC" -c /etc/tvoxcc/tvoxcc.toml kamailio render --out /etc/kamailio
  systemctl enable --now kamailio
fi
systemctl daemon-reload
systemctl enable --now $(ls /etc/systemd/system | grep '^tvoxcc-.*\.service$')
