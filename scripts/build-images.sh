#!/usr/bin/env bash
# Build the offline test-host images (no registry needed):
#   localhost/runcguard-debian:12          debootstrap minbase + python3 (+ python3-apt for ansible.builtin.apt)
#   localhost/runcguard-debian-systemd:12  the same plus systemd as PID 1
# Skips images that exist. A machine-wide lock stops parallel callers from building twice.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
log() { printf '[images] %s\n' "$*" >&2; }
MIRROR=${RCG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# Bump when the image content changes: older images on a machine are rebuilt.
IMAGE_REVISION=2
ROOTFS_TAR=$RCG_CACHE/images/debian-12-minbase-r$IMAGE_REVISION.tar

have() {
  [ "$(podman image inspect --format '{{ index .Labels "org.runcguard.revision" }}' "$1" 2>/dev/null)" = "$IMAGE_REVISION" ]
}
have "$RCG_IMAGE" && have "$RCG_IMAGE_SYSTEMD" && exit 0

# Images are machine-wide, so is the lock.
exec 9>/run/lock/runcguard-build-images.lock
flock -w 1800 9 || { log "timed out waiting for another image build"; exit 1; }

if ! have "$RCG_IMAGE"; then
  if [ ! -s "$ROOTFS_TAR" ]; then
    mkdir -p "$(dirname "$ROOTFS_TAR")"
    dir=$(mktemp -d "$RCG_CACHE/images/rootfs.XXXXXX")
    chmod 0755 "$dir"  # becomes the image's / (mktemp makes it 0700)
    trap 'rm -rf "$dir" "$ROOTFS_TAR.tmp"' EXIT
    log "debootstrap $SUITE minbase + python3 (about a minute)"
    debootstrap --variant=minbase --include=python3,python3-apt "$SUITE" "$dir" "$MIRROR" \
      >"$RCG_CACHE/images/debootstrap.log" 2>&1 ||
      { tail -20 "$RCG_CACHE/images/debootstrap.log" >&2; exit 1; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" -c --numeric-owner . >"$ROOTFS_TAR.tmp"
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$dir"
    trap - EXIT
  fi
  log "importing $RCG_IMAGE"
  podman rmi -f "$RCG_IMAGE_SYSTEMD" "$RCG_IMAGE" >/dev/null 2>&1 || true
  podman import --change 'CMD ["/bin/bash"]' --change "LABEL org.runcguard.revision=$IMAGE_REVISION" \
    "$ROOTFS_TAR" "$RCG_IMAGE" >"$RCG_CACHE/images/import.log" 2>&1 ||
    { tail -20 "$RCG_CACHE/images/import.log" >&2; exit 1; }
fi

if ! have "$RCG_IMAGE_SYSTEMD"; then
  log "building $RCG_IMAGE_SYSTEMD"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  podman rmi -f "$RCG_IMAGE_SYSTEMD" >/dev/null 2>&1 || true
  cat >"$ctx/Containerfile" <<CF
FROM $RCG_IMAGE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd systemd-sysv \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
CF
  podman build --pull=never -q -t "$RCG_IMAGE_SYSTEMD" "$ctx" >"$RCG_CACHE/images/build-systemd.log" 2>&1 ||
    { tail -20 "$RCG_CACHE/images/build-systemd.log" >&2; exit 1; }
fi
log "images ready"
