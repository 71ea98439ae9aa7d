#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: runtime_facts
short_description: Gather container runtime, engine and seccomp profile facts for NOTIFY hazard audits
version_added: 0.1.0
description:
  - Finds every runc and crun binary on the host (standard directories, k3s, RKE2, microk8s and k0s
    bundles, and every binary named by Docker, containerd, CRI-O or podman configuration), runs
    C(--version) on each real binary once, and records its owning package and the engines that use it
    (with O(execute=false) or O(root) it reads its Go build information and the package database instead).
  - Finds seccomp profiles (engine settings, containers-common defaults, kubelet C(Localhost) profiles
    including the Security Profiles Operator tree, running OCI bundles, Docker per-container profiles)
    and describes their C(SCMP_ACT_NOTIFY) rules.
  - Read-only. Returns everything under C(ansible_facts.runcguard); feed it to the
    C(runcguard.seccomp.notify_findings) filter.
  - A bad file, configuration or binary never fails the module; it becomes an entry with an C(error)
    message naming the path and the cause, and the rest of the facts are still returned.
  - Can be listed in C(ansible_facts_modules) to run in the fact-gathering step.
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
  - runcguard.seccomp._attributes.facts
  - runcguard.seccomp._attributes.info_module
  - runcguard.seccomp._scan
attributes:
  platform:
    support: full
    platforms: posix
options:
  scan_timeout:
    description:
      - Seconds the whole scan may spend running commands; V(0) means no limit. Past it no further command is
        started and the runtimes not yet examined get an C(error) saying the scan reached its time limit, so the
        module ends within about this time however many binaries hang.
      - M(runcguard.seccomp.audit_host) sets it a little below its own
        O(runcguard.seccomp.audit_host#module:timeout), so nothing of the scan keeps running on the host after the
        audit gave up on it.
    type: int
    default: 0
notes:
  - Commands run with an argument list (no shell), C(LANG=C) and a time bound (O(command_timeout)); past it
    the command and everything it started are killed. One C(--version) call per real binary, one package
    query per binary.
  - With O(root) (a node's root file system mounted elsewhere, a golden image) or O(execute=false) no binary is
    run and no package manager is called; the scan only reads files (see O(root) and O(execute)).
seealso:
  - name: runc 1.2.0-rc.1/rc.2 hang with fcntl under SCMP_ACT_NOTIFY
    description: The best-known hazard these facts are gathered for.
    link: https://github.com/opencontainers/runc/issues/4328
'''

EXAMPLES = r'''
- name: Gather runcguard facts
  runcguard.seccomp.runtime_facts:

- name: Also describe a bypass4netns profile and an unpacked runc
  runcguard.seccomp.runtime_facts:
    profile_paths:
      - /etc/bypass4netns/seccomp.json
      - /opt/profiles/*.json
      - path: /etc/docker/agent-seccomp.json
        reader: docker
    runtime_paths:
      - /opt/runc-1.2.0-rc.2/runc

- name: Show runtimes whose version could not be read
  ansible.builtin.debug:
    msg: "{{ ansible_facts.runcguard.runtimes | selectattr('error') | list }}"

# In the gather step, so results land in the fact cache:
#   ansible_facts_modules: [ansible.builtin.setup, runcguard.seccomp.runtime_facts]
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    runcguard:
      description: Container runtimes, seccomp profiles and engine settings of the host.
      returned: always
      type: dict
      contains:
        schema:
          description: Version of this data layout.
          type: int
          returned: always
          sample: 1
        arch:
          description: Machine architecture (C(uname -m)).
          type: str
          returned: always
          sample: x86_64
        kernel:
          description: Kernel release.
          type: str
          returned: always
          sample: 6.1.0-18-amd64
        libseccomp:
          description: Host libseccomp version from the library file name, V(null) when unknown.
          type: str
          returned: always
          sample: 2.5.4
        runtimes:
          description: One entry per real runtime binary (symlinks and hard links folded).
          type: list
          elements: dict
          returned: always
          contains:
            name:
              description: V(runc) or V(crun) (or the file name of another runtime an engine names).
              type: str
            path:
              description: First path the binary was found at.
              type: str
            paths:
              description: Every path that resolves to this binary.
              type: list
              elements: str
            realpath:
              description: Resolved path; V(null) when the path could not be resolved.
              type: str
            version:
              description: Normalised version, V(null) when unknown.
              type: str
              sample: 1.2.0-rc.2
            version_source:
              description: Where the version came from (V(first_line), V(commit), V(features), V(buildinfo), V(package), V(nerdctl-full)).
              type: str
            dev:
              description: Whether the binary is a development build past its tag.
              type: bool
            commit:
              description: C(commit:) line of the version output.
              type: str
            spec:
              description: OCI runtime spec version.
              type: str
            go:
              description: Go version the binary was built with.
              type: str
            libseccomp:
              description: libseccomp version the binary reports.
              type: str
            raw:
              description: First 2 KiB of the version output.
              type: str
            package:
              description: Owning package (V(null) when not packaged).
              type: dict
              contains:
                manager:
                  description: V(dpkg) or V(rpm).
                  type: str
                name:
                  description: Package name.
                  type: str
                version:
                  description: Package version.
                  type: str
                advisory_ids:
                  description:
                    - Security advisory ids (CVE, GHSA, GO; upper case, sorted, at most 1000) the package's changelog
                      names (Debian C(changelog.Debian.gz), C(rpm -q --changelog)), so that fixes the distribution
                      backported are not reported as open. V(null) when the changelog could not be read.
                  type: list
                  elements: str
                changelog_error:
                  description: Why the changelog could not be read or was not trusted, or V(null).
                  type: str
            used_by:
              description: Engines whose configuration (or default lookup) runs this binary.
              type: list
              elements: str
              sample: [docker, containerd]
            error:
              description: Why the binary could not be examined (timeout, not executable, unparsable output).
              type: str
            owner:
              description:
                - The user whose own binary this is (a rootless setup, O(users)), C({name, uid}); V(null) for the
                  system's. Root never executes it; its version comes from its Go build info, or from
                  C(--version) run as this user.
              type: dict
            users:
              description: Users whose rootless setups run or hold this binary (their engines, bin directories).
              type: list
              elements: str
            run_as:
              description: The user C(--version) ran as, when the build info gave no version.
              type: str
              returned: when the version was read by running the binary as its owner
        profiles:
          description: One entry per real profile file (or inline Docker per-container profile).
          type: list
          elements: dict
          returned: always
          contains:
            path:
              description: Path the profile was found at.
              type: str
            realpath:
              description: Resolved path.
              type: str
            sha256:
              description: SHA-256 of the content; V(null) when the file is not a usable profile (never a digest
                of a file such as C(/etc/shadow) that a symlink points at).
              type: str
            size:
              description: Size in bytes; V(null) when the file is not a usable profile.
              type: int
            format:
              description: V(oci), V(docker) or V(bundle).
              type: str
            origin:
              description: Every setting that points at this profile.
              type: list
              elements: dict
              contains:
                engine:
                  description: Engine (or V(kubelet), V(bundle), V(containers-common), V(user)).
                  type: str
                setting:
                  description: The configuration key or location.
                  type: str
                reader:
                  description: Who reads the profile, when a O(profile_paths) item names it; absent otherwise.
                  type: str
                  sample: docker
            default_action:
              description: C(defaultAction).
              type: str
            listener_path:
              description: C(listenerPath).
              type: str
            listener_exists:
              description: Whether C(listenerPath) is a socket on this host; V(null) without a listener path.
              type: bool
            architectures:
              description: Architectures the profile names.
              type: list
              elements: str
            notify:
              description: Rules whose action is C(SCMP_ACT_NOTIFY).
              type: list
              elements: dict
            notify_syscalls:
              description: Effective set of syscalls sent to the listener.
              type: list
              elements: str
            bundle:
              description: For a container's config, its id, namespace and engine; V(null) otherwise.
              type: dict
            duplicate_keys:
              description: JSON paths of keys the file repeats (for example V($.syscalls)). The profile is evaluated
                as the runtimes' Go decoder reads it, the last value of each wins and objects merge.
              type: list
              elements: str
            warning:
              description: What the analysis had to assume (duplicate keys), or V(null).
              type: str
            error:
              description: Why the profile could not be read (malformed JSON, too large, unreadable, not UTF-8,
                an unpaired surrogate escape, a file name that is not valid UTF-8, shown escaped).
              type: str
            owner:
              description:
                - The user whose rootless setup holds or generates this profile, C({name, uid}); V(null) for the
                  system's. A user's file is read only when that user owns it (or it is a root-owned file anyone
                  may read); a link out of that becomes an error that does not show its target.
              type: dict
        users:
          description:
            - One entry per user with a rootless setup (option O(users)), C([]) with O(users=none).
            - C(name), C(uid), C(home), C(runtime_dir), C(signals) (why the user was picked), C(processes),
              C(engines) (C(podman), C(docker), C(containerd) as that user's configuration sets them),
              C(agents) (bypass4netns and bypass4netnsd binaries, unit, sockets), C(nerdctl) (each nerdctl binary
              with C(version), C(bypass4netns) module version, the C(notify) list it generates and its source),
              C(units), C(error).
          type: list
          elements: dict
          returned: always
        agents:
          description:
            - bypass4netns agents installed system-wide (with O(discover); a user's own are in that user's
              C(users) entry). One entry per C(bypass4netns)/C(bypass4netnsd) binary in the system directories
              (C(/usr/local/bin) and the rest of the search path, C(/opt/nerdctl-full/bin)), never executed, with
              C(name), C(path), C(scope=system), C(version), C(module), C(bypass4netns) (the bypass4netns module
              version from its Go build information, or the release's C(-ldflags)), C(notify) (the NOTIFY list
              that version puts on a container, V(null) when unknown) and C(notify_source), C(version_source),
              C(owner) (V(null) for root), C(running) (C({pid, uid}) of processes running it), C(error).
            - Then one C(bypass4netnsd) entry with C(path=null), C(units) (system units and global user units
              C(bypass4netnsd.service)/C(bypass4netns.service), each C({path, kind, exec, error})) and C(sockets)
              (root's C(/run) and C(/run/user/0) sockets) when there are any.
          type: list
          elements: dict
          returned: always
        engines:
          description: Per engine found on the host, the configuration read.
          type: dict
          returned: always
          sample:
            docker:
              present: true
              config: [/etc/docker/daemon.json]
              default_runtime: runc
              runtimes: {}
              seccomp_profile: null
              error: null
        scan:
          description: Scan statistics.
          type: dict
          returned: always
          contains:
            duration_ms:
              description: Wall time of the scan.
              type: int
            files_seen:
              description: Profile and container files examined.
              type: int
            errors:
              description: Every problem met, as C({path, error}).
              type: list
              elements: dict
            root:
              description: The directory audited as the node's C(/) (O(root)), C(/) for the host itself.
              type: str
            executed:
              description: Whether binaries were run (V(false) with O(root) or O(execute=false)).
              type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.discovery import (
    COMMAND_TIMEOUT, MAX_PROFILE_SIZE, MAX_PROFILES, MAX_PROFILES_PER_USER, USERS, check_users, gather,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.profiles import profile_path_items


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile_paths=dict(type='list', elements='raw', default=[]),
            runtime_paths=dict(type='list', elements='path', default=[]),
            discover=dict(type='bool', default=True),
            command_timeout=dict(type='int', default=COMMAND_TIMEOUT),
            max_profile_size=dict(type='int', default=MAX_PROFILE_SIZE),
            max_profiles=dict(type='int', default=MAX_PROFILES),
            max_profiles_per_user=dict(type='int', default=MAX_PROFILES_PER_USER),
            scan_timeout=dict(type='int', default=0),
            root=dict(type='path'),
            execute=dict(type='bool'),
            users=dict(type='raw', default=USERS),
        ),
        supports_check_mode=True,
    )
    if module.params['command_timeout'] < 1:
        module.fail_json(msg='command_timeout must be at least 1 second')
    if module.params['scan_timeout'] < 0:
        module.fail_json(msg='scan_timeout must be 0 (no limit) or more seconds')
    if module.params['max_profile_size'] < 1:
        module.fail_json(msg='max_profile_size must be a positive number of bytes')
    for name in ('max_profiles', 'max_profiles_per_user'):
        if module.params[name] < 0:
            module.fail_json(msg='%s must be 0 (no cap) or a positive number of profiles' % name)
    try:
        profile_path_items(module.params['profile_paths'])
        module.params['users'] = check_users(module.params['users'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    if module.params['root'] and module.params['execute']:
        module.fail_json(msg='root=%s: the node\'s files are read and none of them is run; execute must be false '
                             'or unset' % module.params['root'])
    try:
        facts = gather(**module.params)
    except FileProblem as exc:  # root is not a directory: nothing to audit, and saying "clean" would be wrong
        module.fail_json(msg='runtime_facts: %s' % exc.message)
    except Exception as exc:  # last line of defence: a message, never a traceback
        module.fail_json(msg='runtime_facts: host scan failed unexpectedly: %s: %s' % (type(exc).__name__, exc))
    module.exit_json(changed=False, ansible_facts={'runcguard': facts})


if __name__ == '__main__':
    main()
