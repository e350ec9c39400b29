#!/usr/bin/env bash
# Installs the Debian packages tvoxcc's demo and tests need, only those missing. Idempotent; needs root.
#   postgresql            real PostgreSQL for the store tests (started privately by the tests)
#   debootstrap zstd      the lab: Asterisk 22 from Debian sid in a chroot, cached as a zstd tarball
#   sip-tester            sipp: SIP callers and agent phones in tests
#   kamailio              registrar + dispatcher in front of N Asterisk nodes (`lab up --topology`, production)
#   baresip-core          a real softphone for agent tests
#   iproute2              ss, to check what the lab binds; ip netns for `lab up --topology`
#   espeak-ng sox         `tvoxcc prompts render`: prompt text to 8 kHz audio
#   dovecot-imapd dovecot-lmtpd openssl   a real IMAP server for the mail channel tests and the demo
#   chromium              headless browser for the wallboard and recordings page tests (driven over the DevTools Protocol)
set -euo pipefail
PACKAGES=(python3-venv postgresql debootstrap zstd sip-tester kamailio baresip-core iproute2 make espeak-ng sox dovecot-imapd dovecot-lmtpd openssl chromium)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# python3-venv may be provided by the interpreter itself (pyenv builds): no need for Debian's then.
if python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing Debian packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: done"
