#!/usr/bin/env bash
# Audit hosts for seccomp SCMP_ACT_NOTIFY hazards with playbooks/audit.yml.
#   bash scripts/audit.sh                          this machine (local connection)
#   INVENTORY=hosts.ini bash scripts/audit.sh      a fleet (connections from the inventory)
#   bash scripts/audit.sh -e audit_fail_on=high    extra arguments go to ansible-playbook
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh" --minimal
# shellcheck source=scripts/env.sh
source "$root/scripts/env.sh"
cd "$RCG_ROOT"
playbook=playbooks/audit.yml
[ -f "$playbook" ] || { echo "audit: $playbook does not exist yet" >&2; exit 1; }
if [ -n "${INVENTORY:-}" ]; then
  exec ansible-playbook -i "$INVENTORY" "$playbook" "$@"
fi
# No inventory: Ansible's implicit localhost (local connection, this venv's Python, so nothing to
# discover). It is what we mean here, so Ansible's notices that no inventory was given are off.
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
exec ansible-playbook "$playbook" "$@"
