# shellcheck shell=bash
# Source me: `source scripts/env.sh`. Puts the project's tools first on PATH and points Ansible,
# Molecule and podman at the project's caches. Paths are derived from this file, never hard-coded.
RCG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RCG_CACHE=$RCG_ROOT/.cache
export RCG_ROOT RCG_CACHE

# .cache/bin holds pythonX.Y links to working interpreters (pyenv shims may not run them).
case ":$PATH:" in
  *":$RCG_ROOT/.venv/bin:"*) ;;
  *) export PATH="$RCG_ROOT/.venv/bin:$RCG_CACHE/bin:$PATH" ;;
esac

export ANSIBLE_COLLECTIONS_PATH=$RCG_CACHE/collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_PIPELINING=true
export ANSIBLE_HOST_KEY_CHECKING=false
export ANSIBLE_RETRY_FILES_ENABLED=false
export CONTAINERS_CONF=$RCG_CACHE/containers.conf
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export PIP_DISABLE_PIP_VERSION_CHECK=1
# ansible-core imports cryptography's DSA module for its SSH agent support, and cryptography >= 51
# warns about that on every command: nothing a user of ours can act on. Only that message is
# silenced (matched by its start); cryptography itself stays unpinned for its security fixes.
case ",${PYTHONWARNINGS:-}," in
  *",ignore:DSA is deprecated,"*) ;;
  *) export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:DSA is deprecated" ;;
esac
# Test-host images built by scripts/build-images.sh.
export RCG_IMAGE=localhost/runcguard-debian:12
export RCG_IMAGE_SYSTEMD=localhost/runcguard-debian-systemd:12
