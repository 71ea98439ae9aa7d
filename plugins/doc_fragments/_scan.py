# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private doc fragment: the host scan options runtime_facts takes and audit_host passes on to it.
# Action plugins build their argument spec from their documentation (plugin_utils._argspec), so
# this text is the one source of these options for audit_host.

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Use as `runcguard.seccomp._scan`.
    DOCUMENTATION = r'''
options:
  profile_paths:
    description:
      - Extra seccomp profiles to describe, in addition to discovery.
      - Each entry is a file, a directory (read recursively) or a glob pattern; C(~) and environment
        variables are expanded.
      - An entry is a path string (reader unknown), or a dict with keys C(path) and C(reader) that names
        who reads the profile, one of V(docker), V(podman), V(cri-o), V(containerd), V(kubelet), V(oci).
      - The reader decides how a Docker-format profile is read (Docker, podman and CRI-O honour the
        singular C(name) key and C(includes)/C(excludes); containerd and other OCI readers ignore them)
        and which runtimes it is checked against. Without a reader every reader's NOTIFY set is united.
    type: list
    elements: raw
    default: []
  runtime_paths:
    description:
      - Extra runtime binaries (paths or glob patterns) to probe, in addition to discovery.
    type: list
    elements: path
    default: []
  discover:
    description:
      - Search the standard locations and engine configuration.
      - When V(false), only O(profile_paths) and O(runtime_paths) are examined.
    type: bool
    default: true
  users:
    description:
      - Rootless setups of non-root users to audit as well (rootless podman, containerd/nerdctl, Docker,
        bypass4netns).
      - V(auto) finds the users from C(/etc/subuid), C(/var/lib/systemd/linger), C(/run/user/UID) and
        the processes of non-root users (rootlesskit, containerd, dockerd, conmon, bypass4netnsd, runc, ...).
        A list of user names (or uids) scans exactly those users; V(none) scans no user.
      - Per user only a fixed list of paths is looked at (C(~/.local/bin), C(~/bin), the user units' C(PATH),
        C(~/.config/containers), C(~/.config/docker/daemon.json), C(~/.config/containerd), podman storage,
        C(/run/user/UID/containerd), C(/run/user/UID/runc) state), never a walk of a home. At most 200 users
        per host (an error entry names the rest); each user's scan has a 5 second bound; a home on a
        network file system or autofs is not read (an error entry says so).
      - A user's binary is never executed by root; its version comes from its Go build information, or
        from C(--version) run as its owner with dropped privileges. A path that leads out of what the
        user owns (a link to C(/etc/shadow), another user's file) becomes an error entry that does not
        show the target.
    type: raw
    default: auto
  command_timeout:
    description:
      - Seconds one runtime binary may take to answer C(--version) (or a package query may take)
        before it is reported as timed out.
    type: int
    default: 10
  max_profile_size:
    description:
      - Profiles and bundle C(config.json) files larger than this many bytes are not read; they get
        an C(error) entry instead.
    type: int
    default: 1048576
  max_profiles:
    description:
      - At most this many seccomp profiles are read on the host (engine settings, standard files, the kubelet
        profile root, running bundles, Docker's inline profiles, O(profile_paths), users' profiles); thousands of
        profiles would otherwise take minutes. Past the cap, one C(error) entry names the first profile not read
        and how many were left, and the scan goes on without them. V(0) means no cap.
    type: int
    default: 2000
  max_profiles_per_user:
    description:
      - At most this many of one user's profiles are read (O(users)); they also count towards O(max_profiles).
        Past the cap, one C(error) entry for that user, and the scan goes on. V(0) means no cap.
    type: int
    default: 200
  root:
    description:
      - Audit the node whose root file system is mounted at this directory (a Kubernetes node's C(/) mounted
        read-only at C(/host) in a pod, an unpacked or mounted golden image), instead of C(/).
      - Every file is read under it and paths are reported as the node sees them; symlinks are resolved inside
        it (an absolute target starts again at O(root)) and never lead out of it (a relative link that climbs
        above O(root) is an C(error) entry, not followed). Nothing under it is executed, so O(execute) is
        V(false) and versions come from the files (see O(execute)).
      - Engine wiring comes from the configuration files under it, running containers from its C(/run) when
        it holds the node's C(/run) (a host mount with C(rbind), as Kubernetes C(hostPath) gives).
      - A O(root) that is not a directory fails the module.
    type: path
  execute:
    description:
      - Whether runtime binaries (C(--version), C(features)) and the package manager (C(dpkg-query), C(rpm))
        are run to learn versions and owners.
      - V(false) runs none of the host's binaries; versions come from the files instead, in this order. The Go build
        information embedded in runc (its C(mod) version and C(vcs.revision)), then the package database that
        owns the binary (dpkg status, the sqlite rpm database; Berkeley DB / ndb rpm databases are reported as
        unsupported), then nerdctl-full's component list (only when the binary's sha256 matches the archive's
        C(SHA256SUMS)). A binary none of these decide gets an C(error) saying why.
      - Default V(true) without O(root), V(false) with it (V(true) together with O(root) is refused).
    type: bool
'''
