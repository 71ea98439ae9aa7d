# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private doc fragment: the options of notify_probe, beside the module so that its file stays under
# the collection's 450-line limit (a RETURN fragment would not do: ansible-core 2.16 does not merge them).

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Use as `runcguard.seccomp._notify_probe_options` (notify_probe only).
    DOCUMENTATION = r'''
options:
  user:
    description:
      - Probe rootless, as this user (a name or uid). The canary runs with the user's runtime under that
        user's uid and gid (no supplementary groups, no root privilege left), in a user namespace that maps
        container root to the user, with the user's C(XDG_RUNTIME_DIR) (C(/run/user/UID)). Outcomes, time
        bounds and cleanup are the same (a hung runtime is killed by PID and C(runc delete --force) runs as
        the user); root only serves the seccomp agent and removes the leftovers.
      - The runtime's C(--version) runs as the user too. A binary owned by another user is not run.
      - Without O(runtime), the user's own runc and crun in C(~/.local/bin) and C(~/bin) are probed.
      - Not with O(sweep).
    type: str
  user_runtimes:
    description:
      - Runtimes of users' rootless setups (a dict, user name -> list of paths), each probed as its user as with O(user),
        in this same run (M(runcguard.seccomp.audit_host) passes the runtimes whose C(owner) is a user here).
      - O(runtime) is then probed as root as usual (an empty list probes no system runtime).
    type: dict
  runtime:
    description:
      - Runtime binaries to probe (runc or crun).
      - Default is every runc and crun found where M(runcguard.seccomp.runtime_facts) looks by default
        (standard directories, CRI-O, k3s, RKE2, microk8s and k0s locations), one path per real file.
        Binaries named only in engine configuration are not searched; pass the paths from
        C(ansible_facts.runcguard.runtimes) to probe exactly what the facts found.
      - A binary you built or downloaded (for example a runc 1.2.0-rc.2 release binary) can be named
        here to test it without installing it.
    type: list
    elements: path
  syscalls:
    description:
      - Syscalls to probe, each one alone in its own profile.
      - With O(sweep=true), the names the sweep tests instead of the whole table.
      - Default is the hazard catalogue's probe list (C(fcntl), C(sendmsg), C(write), C(close),
        C(read), C(openat), C(execve), C(connect)) unless O(profile) is given.
    type: list
    elements: str
  profile:
    description:
      - Probe exactly the effective C(SCMP_ACT_NOTIFY) set of this existing seccomp profile file (OCI,
        Docker or bundle C(config.json) format), all of its syscalls together in one profile.
      - The rest of the profile (its default action, other rules) is not copied; the canary allows
        everything else, so a result reflects the NOTIFY set alone.
    type: path
  sweep:
    description:
      - Find every syscall the runtime cannot have under C(SCMP_ACT_NOTIFY) by adaptive group testing
        over the host architecture's syscall table (or O(syscalls)). See C(sweeps).
      - Names the host's libseccomp does not know are reported C(unsupported) without a start (runc
        and crun leave unknown names out of a filter).
    type: bool
    default: false
  timeout:
    description:
      - Seconds one probe (one container start) may take before it counts as C(hang).
    type: int
    default: 10
  total_timeout:
    description:
      - Seconds the whole module may take; 0 means no limit. A probe (or a sweep start) is only
        started when it can end, O(timeout) included, before this limit; the ones left out are listed
        in C(not_probed) (a sweep lists its syscalls in C(untested)), so nothing of the module keeps
        running after whoever called it has given up.
      - The audit (M(runcguard.seccomp.audit_host)) sets it a little below its own timeout.
    type: int
    default: 0
  no_new_privileges:
    description:
      - C(process.noNewPrivileges) values to probe; runc installs the seccomp filter at a different
        point for each. A single boolean probes only that value.
    type: list
    elements: bool
    default: [true, false]
'''
