#!/usr/bin/env bash
# Idempotent setup for development, CI and audits. Safe to re-run; fast when nothing changed.
#   bash scripts/setup.sh            apt packages, venvs, collections, podman config, test images
#   bash scripts/setup.sh --minimal  ansible-core, jmespath and collections only (scripts/audit.sh)
set -euo pipefail
minimal=0
case "${1:-}" in
  --minimal) minimal=1 ;;
  "") ;;
  *) echo "usage: $0 [--minimal]" >&2; exit 2 ;;
esac
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$RCG_ROOT"
mkdir -p "$RCG_CACHE/bin" "$RCG_CACHE/stamps"
# Two setups at once (two test runs) would rebuild the same venv under each other.
exec 8>"$RCG_CACHE/setup.lock"
flock -w 900 8 || { echo "[setup] another setup.sh holds $RCG_CACHE/setup.lock" >&2; exit 1; }
log() { printf '[setup] %s\n' "$*" >&2; }

# Collections taken from the `ansible` wheel (Galaxy is not reachable): containers.podman gives
# Molecule its podman connection; community.general has dnf_versionlock (runc_pin on RedHat).
COLLECTIONS=(containers/podman community/general)
ANSIBLE_WHEEL_SPEC='ansible>=14,<15'
# openssh-server: the host tests' own sshd instances on loopback (tests/host/sshfleet.py); the
# machine's ssh service is never started (policy-rc.d below), the tests run sshd with their own config.
APT_PACKAGES=(podman runc crun debootstrap uidmap chromium shellcheck openssh-server)

# A stamp records the inputs a step was done with; the step is skipped while they are unchanged.
stamp_ok() { [ -f "$RCG_CACHE/stamps/$1" ] && [ "$(cat "$RCG_CACHE/stamps/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" >"$RCG_CACHE/stamps/$1"; }

# --- apt ----------------------------------------------------------------------------------
apt_missing() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}
if [ "$minimal" = 0 ]; then
  missing=$(apt_missing)
  if [ -n "$missing" ]; then
    log "apt-get install ${missing//$'\n'/ }"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # no service starts on install (openssh-server would start the machine's sshd on port 22)
    policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\n# scripts/setup.sh: no service starts during its apt-get install\nexit 101\n' >"$policy"
      chmod 755 "$policy"
      own_policy=1
    fi
    apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
    [ "$own_policy" = 0 ] || rm -f "$policy"
  fi
fi

# --- interpreters -------------------------------------------------------------------------
# pythonX.Y on PATH may be a pyenv shim that refuses to run; fall back to asking pyenv where the
# newest matching version lives. Working ones are linked into .cache/bin (first on PATH).
# Prints the interpreter's real executable (not a shim) when it runs and can make venvs.
real_python() {
  [ -n "$1" ] && "$1" -c 'import ensurepip, os, sys, venv; print(os.path.realpath(sys.executable))' 2>/dev/null
}
find_python() {  # $1 = 3.12 -> prints a working interpreter path or nothing
  local v=$1 root ver
  real_python "$(command -v "python$v" 2>/dev/null)" && return
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for ver in $(pyenv versions --bare 2>/dev/null | grep -E "^$v(\.[0-9]+)?$" | sort -rV); do
      real_python "$root/versions/$ver/bin/python$v" && return
    done
  fi
  return 0
}
for v in 3.9 3.10 3.11 3.12 3.13; do
  p=$(find_python "$v")
  if [ -n "$p" ]; then ln -sfn "$p" "$RCG_CACHE/bin/python$v"; else rm -f "$RCG_CACHE/bin/python$v"; fi
done
MAIN_PY=""
for v in 3.13 3.12; do
  if [ -x "$RCG_CACHE/bin/python$v" ]; then MAIN_PY=$RCG_CACHE/bin/python$v; break; fi
done
[ -n "$MAIN_PY" ] || MAIN_PY=$(real_python "$(command -v python3)")
OLD_PY=$RCG_CACHE/bin/python3.11
[ -x "$OLD_PY" ] || OLD_PY=""

# --- virtual environments -----------------------------------------------------------------
# A venv is kept while its interpreter is unchanged; requirement files are installed over it as
# layers, each with its own stamp: what auditing needs (requirements-audit.txt, all that --minimal
# installs) and, for the tests, requirements-dev.txt on top. A layer is reinstalled when its files
# change (a package dropped from a file stays installed until the venv is removed).
pip_into() {  # $1 venv dir, $2 log name, rest: pip install arguments
  local dir=$1 log=$RCG_CACHE/logs/pip-$2.log; shift 2
  mkdir -p "$RCG_CACHE/logs"
  if ! "$dir/bin/python" -m pip install "$@" >"$log" 2>&1; then
    tail -30 "$log" >&2
    log "pip install into $dir failed (log: ${log#"$RCG_ROOT"/})"
    exit 1
  fi
}
make_venv() {  # $1 dir, $2 python
  local dir=$1 py=$2
  if [ -x "$dir/bin/python" ] && [ "$("$dir/bin/python" -VV 2>/dev/null)" = "$("$py" -VV)" ]; then return; fi
  log "creating $dir with $("$py" -V)"
  rm -rf "$dir"
  "$(readlink -f "$py")" -m venv "$dir"  # the real interpreter, so the venv outlives .cache/bin
  pip_into "$dir" "${dir#.}" --upgrade pip
}
add_layer() {  # $1 venv dir, $2 requirements file, rest: files it includes with -r
  local dir=$1 req=$2 key
  key=$(cat "${@:2}" | sha256sum | cut -c1-16)
  [ "$(cat "$dir/.rcg-stamp-${req%.txt}" 2>/dev/null)" = "$key" ] && return
  log "installing $req into $dir"
  pip_into "$dir" "${dir#.}-${req%.txt}" -r "$req"
  printf '%s' "$key" >"$dir/.rcg-stamp-${req%.txt}"
}
make_venv .venv "$MAIN_PY"
add_layer .venv requirements-audit.txt
if [ "$minimal" = 0 ]; then
  add_layer .venv requirements-dev.txt requirements-audit.txt
  if [ -n "$OLD_PY" ]; then
    make_venv .venv-2.19 "$OLD_PY"
    add_layer .venv-2.19 requirements-2.19.txt
    make_venv .venv-2.16 "$OLD_PY"
    add_layer .venv-2.16 requirements-2.16.txt
  else
    log "WARNING: no python3.11 found; skipping .venv-2.19 and .venv-2.16 (ansible-core 2.19 and 2.16 tests)"
  fi
fi

# --- collections --------------------------------------------------------------------------
coll_root=$RCG_CACHE/collections/ansible_collections
coll_key="$ANSIBLE_WHEEL_SPEC ${COLLECTIONS[*]}"
# --minimal (auditing) needs none of them: containers.podman and community.general serve the tests
# and runc_pin on RedHat, so the audit does not download the ansible wheel they come from.
if [ "$minimal" = 0 ] && ! stamp_ok collections "$coll_key"; then
  mkdir -p "$RCG_CACHE/wheels"
  newest_wheel() { printf '%s\n' "$RCG_CACHE"/wheels/ansible-14.*.whl | sort -V | tail -1; }
  wheel=$(newest_wheel)
  if [ ! -f "$wheel" ]; then
    log "downloading $ANSIBLE_WHEEL_SPEC (collections source)"
    .venv/bin/python -m pip download -q --no-deps -d "$RCG_CACHE/wheels" "$ANSIBLE_WHEEL_SPEC" 2>&1 |
      grep -v "^WARNING: Location" >&2 || true
    wheel=$(newest_wheel)
  fi
  log "extracting ${COLLECTIONS[*]} from $(basename "$wheel")"
  # Unpack beside the old tree and swap, so a run using the old one is not left without it.
  rm -rf "$RCG_CACHE/collections.new" "$RCG_CACHE/collections.old"
  .venv/bin/python - "$wheel" "$RCG_CACHE/collections.new" "${COLLECTIONS[@]}" <<'PY'
import sys, zipfile
wheel, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
prefixes = tuple('ansible_collections/%s/' % c for c in wanted)
with zipfile.ZipFile(wheel) as zf:
    members = [n for n in zf.namelist() if n.startswith(prefixes)]
    missing = [c for c in wanted if not any(n.startswith('ansible_collections/%s/' % c) for n in members)]
    if missing:
        sys.exit('collections not in %s: %s' % (wheel, missing))
    zf.extractall(dest, members)
PY
  mkdir -p "$RCG_CACHE/collections.new/ansible_collections/runcguard"
  ln -s ../../../.. "$RCG_CACHE/collections.new/ansible_collections/runcguard/seccomp"
  [ ! -e "$RCG_CACHE/collections" ] || mv "$RCG_CACHE/collections" "$RCG_CACHE/collections.old"
  mv "$RCG_CACHE/collections.new" "$RCG_CACHE/collections"
  rm -rf "$RCG_CACHE/collections.old"
  stamp_set collections "$coll_key"
fi
# The collection itself: ansible_collections/runcguard/seccomp -> repo root (relative link).
mkdir -p "$coll_root/runcguard"
[ "$(readlink "$coll_root/runcguard/seccomp" 2>/dev/null)" = "../../../.." ] ||
  ln -sfn ../../../.. "$coll_root/runcguard/seccomp"

# --- podman configuration -----------------------------------------------------------------
# runc (crun fails on hybrid cgroups), cgroupfs, file events, ulimits the kernel lets us set.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
conf=$(cat <<CONF
# Written by scripts/setup.sh; used through CONTAINERS_CONF (scripts/env.sh).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
stop_timeout = 2
CONF
)
[ "$(cat "$CONTAINERS_CONF" 2>/dev/null)" = "$conf" ] || printf '%s\n' "$conf" >"$CONTAINERS_CONF"

# --- ansible-test's get-pip (its download host is unreachable) ----------------------------
# ansible-test runs ~/.ansible/test/cache/get_pip_<ver>.py in each fresh venv: ensurepip, then
# install the requested pip with the same arguments.
for pip_cache in "$HOME/.ansible/test/cache" "$RCG_CACHE/ansible-test-home/.ansible/test/cache"; do
  mkdir -p "$pip_cache"
  for reqpy in .venv*/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py; do
    [ -f "$reqpy" ] || continue
    while read -r ver; do
      stub=$pip_cache/get_pip_${ver//./_}.py
      [ -f "$stub" ] && continue  # ours from an earlier run, or a real get-pip
      cat >"$stub" <<'PY'
# runcguard get-pip stub (scripts/setup.sh): bootstrap pip offline, then install as asked.
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
PY
    done < <(grep -oE "pip='[0-9.]+'" "$reqpy" | grep -oE '[0-9.]+' | sort -u)
  done
done

# --- test-host images ---------------------------------------------------------------------
if [ "$minimal" = 0 ]; then
  bash "$RCG_ROOT/scripts/build-images.sh"
fi
log "ready: ansible-core $(.venv/bin/python -c "import ansible.release as r; print(r.__version__)") on $(.venv/bin/python -V)"
