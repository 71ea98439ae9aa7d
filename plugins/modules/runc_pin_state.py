#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: runc_pin_state
short_description: Read what the runc_pin role needs to pin or upgrade runc, and plan it
version_added: 0.1.0
description:
  - Finds the package that owns each runc binary the container engines use (dpkg's file lists, as the audit reads them, or C(rpm -qf)),
    the installed, held and offered versions of that package and of the packages held with it,
    and chooses how to reach the wanted runc version (package or side-by-side binary).
  - Knows which runc release each Docker C(containerd.io) package bundles (a table with its sources).
  - Reports whether each file the role may change exists and whether its original was already recorded
    under O(state_dir), so the role can save originals once and restore them on C(unpin).
  - Read-only; used by the C(runcguard.seccomp.runc_pin) role.
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
  - runcguard.seccomp._attributes.info_module
attributes:
  platform:
    support: full
    platforms: posix
options:
  paths:
    description:
      - Paths of the runc binaries the engines use (from C(ansible_facts.runcguard.runtimes)).
    type: list
    elements: path
    default: []
  action:
    description:
      - V(pin) wants runc O(version) exactly; V(upgrade) wants a fixed runc (a final release at or
        after 1.2.0), exactly O(version) when it is given.
    type: str
    choices: [pin, upgrade]
    default: pin
  version:
    description:
      - The wanted runc version (C(1.1.13)). Required for V(pin).
    type: str
  method:
    description:
      - V(auto) uses the package method when the package that owns the engines' runc offers the wanted
        version, otherwise the binary method.
    type: str
    choices: [auto, package, binary]
    default: auto
  package_version:
    description:
      - Install and hold exactly this version of the owning package instead of choosing one.
    type: str
  hold_with:
    description:
      - Packages held together with C(containerd.io) when they are installed (a newer C(docker-ce) requires a
        newer C(containerd.io)).
    type: list
    elements: str
    default: [docker-ce, docker-ce-cli]
  files:
    description:
      - Files the role may change; each is reported with its existence and recorded original.
    type: list
    elements: path
    default: []
  dirs:
    description:
      - Directories the role may create; each is reported with its existence and whether the role recorded
        creating it.
    type: list
    elements: path
    default: []
  state_dir:
    description:
      - Where the role keeps originals (C(orig/<path>)) and markers of files that did not exist (C(absent/<path>)).
    type: path
    default: /var/lib/runcguard/runc_pin
  timeout:
    description:
      - Seconds any one package-manager command may run.
    type: int
    default: 60
notes:
  - Package versions of C(containerd.io) not in the table are never chosen automatically (their bundled runc is
    unknown); set O(package_version) to use one.
seealso:
  - module: runcguard.seccomp.runtime_facts
'''

EXAMPLES = r'''
- name: Plan pinning runc 1.1.13 for the engines' runc
  runcguard.seccomp.runc_pin_state:
    paths: "{{ ansible_facts.runcguard.runtimes | selectattr('used_by') | map(attribute='path') | list }}"
    action: pin
    version: "1.1.13"
  register: pin_state

- name: Show the plan
  ansible.builtin.debug:
    var: pin_state.plan
'''

RETURN = r'''
manager:
  description: Package manager of the host.
  returned: always
  type: str
  sample: dpkg
  choices: [dpkg, rpm, null]
dnf:
  description: dnf generation and versionlock file on RPM hosts, else null.
  returned: always
  type: dict
  contains:
    major:
      description: 4 or 5.
      type: int
    locklist:
      description: The versionlock file this dnf reads.
      type: str
owners:
  description: One entry per path in O(paths).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path asked about.
      type: str
    realpath:
      description: Symlinks resolved.
      type: str
    package:
      description: Owning package name, or null.
      type: str
packages:
  description: Owning packages and the O(hold_with) packages, by name.
  returned: always
  type: dict
  contains:
    installed:
      description: Installed version or null.
      type: str
    held:
      description: Whether a dpkg hold or a dnf versionlock covers the package.
      type: bool
    selection:
      description: dpkg selection (install, hold, ...) on dpkg hosts, else null.
      type: str
    available:
      description: Versions the repositories offer.
      type: list
      elements: str
    runc:
      description: The runc version the installed package ships, when known.
      type: str
plan:
  description: How the wanted runc is reached.
  returned: always
  type: dict
  contains:
    method:
      description: V(package), V(binary) or null when nothing can reach the wanted version.
      type: str
    package:
      description: Package to install and hold (package method).
      type: str
    package_version:
      description: Its version to install and hold.
      type: str
    runc:
      description: The runc version the engines will run afterwards.
      type: str
    hold:
      description: Packages to hold, with the versions to hold them at.
      type: list
      elements: dict
    install:
      description: What the package manager installs (C(name=version) for apt, C(name-version) for dnf), or null.
      type: str
    reason:
      description: Why this method and version were chosen.
      type: str
    problems:
      description: Why a method could not be used.
      type: list
      elements: str
files:
  description: By path, whether the file exists and how its original is recorded (V(orig), V(absent) or null).
  returned: always
  type: dict
dirs:
  description: By path, whether the directory exists and whether the role recorded creating it.
  returned: always
  type: dict
table:
  description: The containerd.io to bundled runc table used, with sources.
  returned: always
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runcguard.seccomp.plugins.module_utils import _command, _pins
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import packages
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.pkgdb import PackageDb
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs


OUTPUT_LIMIT = 1024 * 1024  # apt-cache madison / dnf repoquery can list many versions


class Host(object):
    """Package-manager queries through _command.run (argv lists, LANG=C, process group killed after
    the module's timeout); text out. A query past its time bound fails the module."""

    def __init__(self, module):
        self.module = module
        self.timeout = module.params['timeout']

    def run(self, argv):
        rc, out, err, error = _command.run(argv, self.timeout, limit=OUTPUT_LIMIT)
        if error and error.startswith('timed out'):
            self.module.fail_json(msg='%s %s' % (' '.join(argv), error), cmd=argv)
        return rc, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def manager_of(module):
    if module.get_bin_path('dpkg-query') and module.get_bin_path('apt-cache'):
        return 'dpkg'
    if module.get_bin_path('rpm'):
        return 'rpm'
    return None


def read_locks(module, dnf):
    if not dnf or not os.path.exists(dnf['locklist']):
        return {}
    try:
        with open(dnf['locklist'], 'r') as handle:
            return packages.parse_locks(dnf['major'], handle.read(1 << 20))
    except (IOError, OSError, ValueError) as exc:
        module.warn('cannot read %s: %s' % (dnf['locklist'], exc))
        return {}


def file_states(paths, state_dir):
    out = {}
    for path in paths:
        rel = path.lstrip('/')
        recorded = None
        if os.path.lexists(os.path.join(state_dir, 'orig', rel)):
            recorded = 'orig'
        elif os.path.lexists(os.path.join(state_dir, 'absent', rel)):
            recorded = 'absent'
        out[path] = {'exists': os.path.lexists(path), 'recorded': recorded}
    return out


def dir_states(paths, state_dir):
    return dict((path, {'exists': os.path.isdir(path),
                        'recorded': os.path.exists(os.path.join(state_dir, 'dirs', path.lstrip('/'), '.created'))})
                for path in paths)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='list', elements='path', default=[]),
            action=dict(type='str', choices=['pin', 'upgrade'], default='pin'),
            version=dict(type='str'),
            method=dict(type='str', choices=['auto', 'package', 'binary'], default='auto'),
            package_version=dict(type='str'),
            hold_with=dict(type='list', elements='str', default=['docker-ce', 'docker-ce-cli']),
            files=dict(type='list', elements='path', default=[]),
            dirs=dict(type='list', elements='path', default=[]),
            state_dir=dict(type='path', default='/var/lib/runcguard/runc_pin'),
            timeout=dict(type='int', default=60),
        ),
        required_if=[('action', 'pin', ['version'])],
        supports_check_mode=True,
    )
    params = module.params
    run = Host(module).run
    manager = manager_of(module)
    dnf = packages.dnf_info(run, module.get_bin_path('dnf5') or module.get_bin_path('dnf')) if manager == 'rpm' else None
    locks = read_locks(module, dnf) if manager == 'rpm' else {}

    owners = []
    dpkg = PackageDb(HostFs()) if manager == 'dpkg' else None  # the audit's own answer: dpkg's files
    for path in dict.fromkeys(params['paths']):  # de-duplicated, order kept
        realpath = os.path.realpath(path)
        package = None
        if manager == 'dpkg':
            found = dpkg.owner([realpath, path])  # the file itself first, as the audit asks
            package = found['name'] if found and found['manager'] == 'dpkg' else None
        elif manager == 'rpm':
            found = packages.rpm_owner(run, path, realpath)
            package = found[0] if found else None
        owners.append({'path': path, 'realpath': realpath, 'package': package})
    for where, problem in dpkg.problems if dpkg else ():  # an unreadable database is not "no owner"
        module.warn('dpkg database %s: %s (the owner of a runc binary may be missing)' % (where, problem))

    infos = {}
    names = [o['package'] for o in owners if o['package']]
    if any(n in _pins.BUNDLING_PACKAGES for n in names):
        names += params['hold_with']
    for name in dict.fromkeys(names):
        if manager == 'dpkg':
            info = packages.dpkg_info(run, name)
        else:
            info = packages.rpm_info(run, dnf and dnf['bin'], locks, name)
        info['runc'] = _pins.runc_version_of_package(name, info['installed'])
        infos[name] = info

    version = params['version']
    plan = _pins.plan(owners, infos, params['method'], params['action'], version,
                      explicit=params['package_version'])
    plan['hold'] = []
    plan['install'] = None
    if plan['method'] == 'package':
        plan['install'] = _pins.install_spec(manager, plan['package'], plan['package_version'])
        plan['hold'].append({'name': plan['package'], 'version': plan['package_version']})
        for name in params['hold_with'] if plan['package'] in _pins.BUNDLING_PACKAGES else []:
            if infos.get(name, {}).get('installed'):
                plan['hold'].append({'name': name, 'version': infos[name]['installed']})
        if dnf:
            for item in plan['hold']:
                item['lock_spec'] = _pins.dnf_lock_spec(item['name'], item['version'])
    if dnf:
        dnf = {'major': dnf['major'], 'locklist': dnf['locklist']}

    module.exit_json(
        changed=False, manager=manager, dnf=dnf, owners=owners, packages=infos, plan=plan,
        files=file_states(params['files'], params['state_dir']),
        dirs=dir_states(params['dirs'], params['state_dir']),
        table=_pins.CONTAINERD_IO_RUNC,
    )


if __name__ == '__main__':
    main()
