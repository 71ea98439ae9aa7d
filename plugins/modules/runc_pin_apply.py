#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: runc_pin_apply
short_description: Point container engines at a side-by-side runc, record what changed, and undo it
version_added: 0.2.0
description:
  - Every change the C(runcguard.seccomp.runc_pin) role makes to files. It installs a verified runc binary,
    sets the runtime path in the engines' configurations, records the original of every file and every
    directory it creates under O(state_dir), and (O(state=absent)) restores them.
  - "containerd: a C(version = 1) or C(version = 2) config is edited in place (containerd 1.x replaces an
    imported plugin section as a whole, so a drop-in would drop C(SystemdCgroup), C(sandbox_image), the CNI
    and registry settings); C(version = 3) (containerd 2.x, which deep-merges imports) gets a drop-in."
  - "Docker: C(daemon.json) gets a runtime named O(docker_runtime_name) that becomes the default runtime and
    inherits the old default runtime's C(runtimeArgs). CRI-O and podman get a drop-in."
  - Every edit keeps every other byte (comments, key order, indentation, line endings, a byte order mark,
    non-ASCII text, a missing final newline), the file's owner, group, mode and extended attributes, and
    edits the end of a symlink (the link stays).
  - Every check runs before anything changes; where the engine's binary is on the host the candidate
    configuration is validated with it (C(containerd --config FILE config dump), C(dockerd --validate))
    and a configuration it refuses, or a change of any containerd setting but the runtime path, refuses
    the whole pin with the engine's message.
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - One diff per file, created files included; directories and the binary are listed as prepared text.
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
options:
  state:
    description:
      - V(present) pins, V(absent) undoes everything the record holds (then forgets the record),
        V(snapshot) only reports whether a record exists and what it holds.
    type: str
    choices: [present, absent, snapshot]
    default: present
  binary:
    description:
      - Where the pinned runc lives (C(/usr/local/sbin/runc-1.1.13)). Required when O(engines) is not empty.
    type: path
  binary_src:
    description:
      - A file on the host (a verified download) installed as O(binary) when O(binary) does not hold
        O(binary_sha256) yet; it is removed afterwards.
    type: path
  binary_sha256:
    description:
      - sha256 of the runc binary. Required when O(engines) is not empty.
    type: str
  user_binaries:
    description:
      - A user's own runc (a rootless setup's C(~/.local/bin/runc)) to upgrade in place, by the binary
        method. Each gets O(binary_src)'s bytes (O(binary_sha256) checked) in the same path, so every engine of
        that user that names the path runs it unchanged. The file keeps its owner, group, mode and extended
        attributes (nothing in a home becomes root's; root writes race-free without following a link and
        takes no lock file in the home); its original is recorded first, and O(state=absent) puts it back
        byte for byte as that user's file.
      - Refused before anything changes, naming the path and the user, when the path is missing, a symlink,
        not a regular file, not owned by O(user_binaries[].owner), or below a directory a third user owns.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The user's binary (absolute).
        type: path
        required: true
      owner:
        description: The user who owns it, a name, a uid or C({name, uid}) (as remediation plans give it).
        type: raw
        required: true
  record:
    description:
      - Files the caller changes itself (the package method's apt preferences or versionlock file). Their
        originals are recorded (once) before the caller writes them, so O(state=absent) puts them back.
    type: list
    elements: path
    default: []
  packages:
    description:
      - Package versions and holds before the first pin (from C(runcguard.seccomp.runc_pin_state)), kept once as
        C(packages.json) in O(state_dir) for the unpin.
    type: dict
  installed:
    description:
      - Packages the caller just installed for the pin (dnf4's C(python3-dnf-plugin-versionlock)); recorded, and
        O(state=absent) reports them in RV(packages_before.remove) for removal.
    type: list
    elements: str
    default: []
  forget:
    description:
      - With O(state=absent), remove the record afterwards. V(false) keeps it (the role puts packages back
        from it first, then forgets).
    type: bool
    default: true
  engines:
    description:
      - Engines to point at O(binary).
    type: list
    elements: str
    choices: [docker, containerd, cri-o, podman]
    default: []
  docker_daemon_json:
    description: Docker's configuration.
    type: path
    default: /etc/docker/daemon.json
  docker_runtime_name:
    description: Name of the runtime added to C(daemon.json).
    type: str
    default: runcguard-runc
  containerd_config:
    description: containerd's configuration.
    type: path
    default: /etc/containerd/config.toml
  containerd_dropin:
    description: The drop-in for C(version = 3) configurations (and the one earlier releases wrote for every version).
    type: path
    default: /etc/containerd/conf.d/runcguard-runc.toml
  crio_config:
    description: CRI-O's main configuration (its drop-in directory is O(crio_dropin)'s directory).
    type: path
    default: /etc/crio/crio.conf
  crio_dropin:
    description: The CRI-O drop-in.
    type: path
    default: /etc/crio/crio.conf.d/99-runcguard-runc.conf
  podman_dropin:
    description: The containers.conf drop-in for podman.
    type: path
    default: /etc/containers/containers.conf.d/99-runcguard-runc.conf
  state_dir:
    description: Where originals and markers are recorded (root only).
    type: path
    default: /var/lib/runcguard/runc_pin
  validate:
    description: Validate candidate configurations with the engines' own binaries where they are installed.
    type: bool
    default: true
  timeout:
    description: Seconds any one engine command may run.
    type: int
    default: 30
notes:
  - podman and CRI-O have no validator that reads a candidate file; their drop-ins are checked with the
    collection's TOML reader.
seealso:
  - module: runcguard.seccomp.runc_pin_state
'''

EXAMPLES = r'''
- name: Upgrade alice's own ~/.local/bin/runc in place (her owner and mode kept; undone by state=absent)
  runcguard.seccomp.runc_pin_apply:
    user_binaries:
      - {path: /home/alice/.local/bin/runc, owner: alice}
    binary_src: /var/tmp/rcg-stage-x/runc-1.3.6
    binary_sha256: 42210ebd263fdf7f7d30b2c1ea82103c608555df9a54e73f9f643a2b82f50aff

- name: Point containerd and Docker at runc 1.1.13
  runcguard.seccomp.runc_pin_apply:
    binary: /usr/local/sbin/runc-1.1.13
    binary_src: /usr/local/sbin/.runc-1.1.13.runcguard-download
    binary_sha256: bcfc299c1ab255e9d045ffaf2e324c0abaf58f599831a7c2c4a80b33f795de94
    engines: [containerd, docker]

- name: Undo it
  runcguard.seccomp.runc_pin_apply:
    state: absent
'''

RETURN = r'''
engines:
  description: Per engine, the configuration file changed, the runtime it runs and how the result was validated.
  returned: state=present
  type: dict
  contains:
    config:
      description: The file that now names the binary.
      type: str
    runtime:
      description: The runtime name pointed at the binary.
      type: str
    validated_by:
      description: V(containerd config dump), V(dockerd --validate) or V(model) (the collection's own parse).
      type: str
    note:
      description: Anything else the pin did for this engine (e.g. an earlier release's drop-in undone).
      type: str
files:
  description: Files written, created or removed (real paths, symlinks followed).
  returned: always
  type: list
  elements: str
dirs:
  description: Directories created (state=present) or removed (state=absent).
  returned: always
  type: list
  elements: str
restored:
  description: What the undo did (state=absent), or would do (state=snapshot).
  returned: state=absent or state=snapshot
  type: dict
  contains:
    restored:
      description: Files put back to their recorded originals.
      type: list
      elements: str
    removed:
      description: Files removed (they did not exist before the first pin).
      type: list
      elements: str
    dirs_removed:
      description: Directories removed.
      type: list
      elements: str
    dirs_kept:
      description: Directories runc_pin created that now hold other files (kept).
      type: list
      elements: str
packages_before:
  description:
    - The package state recorded before the first pin (state=absent and state=snapshot), ready for the package
      manager, or null when the pin changed no package.
  returned: state=absent or state=snapshot
  type: dict
  contains:
    manager:
      description: V(dpkg) or V(rpm).
      type: str
    install:
      description: The recorded versions as install specs (C(name=version) / C(name-version)), one transaction.
      type: list
      elements: str
    names:
      description: The packages recorded.
      type: list
      elements: str
    selections:
      description: dpkg selections to put back (C(name), C(selection)).
      type: list
      elements: dict
    remove:
      description: Packages the pin itself installed (to remove on unpin).
      type: list
      elements: str
users:
  description: The O(user_binaries) replaced (or, in check mode, to replace), with their user and former sha256.
  returned: state=present
  type: list
  elements: dict
  contains:
    path:
      description: The user's binary.
      type: str
    owner:
      description: C({name, uid}) of the user.
      type: dict
    sha256_before:
      description: sha256 of the binary before it was replaced.
      type: str
records:
  description: Whether a record of an earlier pin existed when the module started.
  returned: always
  type: bool
fingerprint:
  description:
    - sha256 over the record and the current owner, mode and bytes of every file it names (state=snapshot).
      Two snapshots with the same fingerprint mean no pin changed or recorded anything in between.
  returned: state=snapshot
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runcguard.seccomp.plugins.module_utils import _files, _pins
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import record
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin.apply import absent, present, snapshot


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent', 'snapshot'], default='present'),
            binary=dict(type='path'),
            binary_src=dict(type='path'),
            binary_sha256=dict(type='str'),
            engines=dict(type='list', elements='str', choices=['docker', 'containerd', 'cri-o', 'podman'], default=[]),
            docker_daemon_json=dict(type='path', default='/etc/docker/daemon.json'),
            docker_runtime_name=dict(type='str', default='runcguard-runc'),
            containerd_config=dict(type='path', default='/etc/containerd/config.toml'),
            containerd_dropin=dict(type='path', default='/etc/containerd/conf.d/runcguard-runc.toml'),
            crio_config=dict(type='path', default='/etc/crio/crio.conf'),
            crio_dropin=dict(type='path', default='/etc/crio/crio.conf.d/99-runcguard-runc.conf'),
            podman_dropin=dict(type='path', default='/etc/containers/containers.conf.d/99-runcguard-runc.conf'),
            state_dir=dict(type='path', default='/var/lib/runcguard/runc_pin'),
            user_binaries=dict(type='list', elements='dict', default=[],
                               options=dict(path=dict(type='path', required=True), owner=dict(type='raw', required=True))),
            record=dict(type='list', elements='path', default=[]),
            installed=dict(type='list', elements='str', default=[]),
            packages=dict(type='dict'),
            forget=dict(type='bool', default=True),
            validate=dict(type='bool', default=True),
            timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    rec = record.Record(module.params['state_dir'])
    had_records = rec.exists()
    before = rec.packages() if had_records else None
    packages_before = _pins.restore_specs(before) if before else None
    try:
        if module.params['state'] == 'snapshot':
            result = snapshot(rec, had_records)
        elif module.params['state'] == 'absent':
            result = absent(module, rec)
        else:
            result = present(module, rec)
    except (_files.FileProblem, record.RecordError, OSError) as exc:  # _safefile.UserControlled included
        module.fail_json(msg='runc_pin_apply: %s' % (getattr(exc, 'message', None) or exc), records=had_records)
    result['records'] = had_records
    if module.params['state'] != 'present':
        result['packages_before'] = packages_before
    module.exit_json(**result)


if __name__ == '__main__':
    main()
