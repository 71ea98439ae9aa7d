#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: stage_file
short_description: Stage a sha256-verified download or controller file in a fresh root-only directory
version_added: 0.2.0
description:
  - Fetches O(url), or takes O(src) from the controller, checks its sha256 against O(sha256) before anything is
    written, and writes it as O(name) into a new directory of its own, made by root with mode 0700 in O(parent)
    (opened without following anyone's links; a parent a non-root user owns or can change is refused). Nobody but
    root can read, swap or change the staged file before the installer (C(runcguard.seccomp.runc_pin_apply))
    reads it and checks its sha256 again.
  - O(state=absent) removes the staging directory O(path) and what is in it. Staging directories of runs that
    died are removed by the next run.
  - Used by the C(runcguard.seccomp.runc_pin) role for the runc binary of its binary method.
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is fetched, transferred or written; the result says what would be staged.
  diff_mode:
    support: full
    details:
      - The staging is listed as prepared text (the file is binary).
  idempotent:
    support: none
    details:
      - Every run stages into a fresh directory (remove it with O(state=absent) once the file is used).
  platform:
    support: full
    platforms: posix
options:
  state:
    description: V(present) stages a file, V(absent) removes the staging directory O(path).
    type: str
    choices: [present, absent]
    default: present
  url:
    description:
      - Where to fetch the file (HTTP(S) or file URL). One of O(url) and O(src) with O(state=present).
      - May hold credentials (V(https://user:password@host/...)) or a token in its query string. The option is
        C(no_log), and messages, the diff and the return values show the URL without C(user:password@), query
        string and fragment.
    type: str
  src:
    description:
      - A file on the controller (searched like the C(copy) module's C(src)); its sha256 is checked on the
        controller before it is transferred, and again on the host before it is staged.
    type: path
  sha256:
    description: The sha256 the file must have (64 hex digits). Required with O(state=present).
    type: str
  name:
    description: The file's name in the staging directory. Default the last component of O(url) or O(src).
    type: str
  parent:
    description:
      - Where the staging directory is made. It must be root's (a sticky directory such as C(/var/tmp) is fine).
    type: path
    default: /var/tmp
  path:
    description: With O(state=absent), the staging directory to remove (RV(dir) of the run that staged).
    type: path
  timeout:
    description: Seconds the download may take to answer.
    type: int
    default: 60
  validate_certs:
    description: Check the server's TLS certificate.
    type: bool
    default: true
seealso:
  - module: runcguard.seccomp.runc_pin_apply
'''

EXAMPLES = r'''
- name: Download runc 1.3.6 and stage it for the installer
  runcguard.seccomp.stage_file:
    url: https://github.com/opencontainers/runc/releases/download/v1.3.6/runc.amd64
    sha256: 1e5d0bdd54683ea5f141757610c4a6136f6e0c8d8db1f0d68efecdf43237301e
    name: runc-1.3.6
  register: staged

- name: Remove the staging directory
  runcguard.seccomp.stage_file:
    state: absent
    path: "{{ staged.dir }}"
'''

RETURN = r'''
path:
  description: The staged file (null in check mode and with O(state=absent)).
  returned: always
  type: str
dir:
  description: The staging directory (null in check mode); pass it as O(path) with O(state=absent).
  returned: always
  type: str
sha256:
  description: The verified sha256.
  returned: state=present
  type: str
size:
  description: Bytes staged.
  returned: state=present, not in check mode
  type: int
reaped:
  description: Staging directories of runs that died, removed.
  returned: always
  type: list
  elements: str
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible.module_utils.six.moves.urllib.error import URLError
from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile, _stage
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem

_SHA256 = re.compile(r'^[0-9a-fA-F]{64}$')


def _fetch(module, sha256, what):
    p = module.params
    if p['src']:  # the action plugin's transferred copy (root's tmp on the host)
        fd = _safefile.open_for_read(p['src'])
        with os.fdopen(fd, 'rb') as handle:
            return _stage.read_verified(handle, sha256, what)
    try:
        response = open_url(p['url'], timeout=p['timeout'], validate_certs=p['validate_certs'],
                            http_agent='runcguard.seccomp.stage_file')
    except (URLError, IOError, OSError, ValueError) as exc:
        # the reason may quote the URL (an unknown scheme, a bad port): never its credentials
        raise FileProblem('cannot be fetched: %s' % _stage.scrub_url(getattr(exc, 'reason', None) or exc, p['url']),
                          what)
    try:
        return _stage.read_verified(response, sha256, what)
    finally:
        response.close()


def present(module):
    p = module.params
    if bool(p['url']) == bool(p['src']):
        module.fail_json(msg='stage_file: give one of url and src')
    if not p['sha256'] or not _SHA256.match(p['sha256']):
        module.fail_json(msg='stage_file: sha256 must be 64 hex digits')
    sha256 = p['sha256'].lower()
    what = _stage.redact_url(p['url']) if p['url'] else p['src']  # never a URL's credentials or query
    name = p['name'] or what.rstrip('/').rsplit('/', 1)[-1]
    result = dict(changed=True, path=None, dir=None, sha256=sha256, reaped=[])
    if module._diff:
        result['diff'] = {'prepared': 'stage %s (sha256 %s) as %s in a new root-only directory in %s\n'
                          % (what, sha256, name, p['parent'])}
    if module.check_mode:
        return result
    data = _fetch(module, sha256, what)
    stage_dir, result['reaped'] = _stage.make_dir(p['parent'])
    try:
        result['path'] = _stage.put(stage_dir, name, data, sha256)
    except BaseException:
        _stage.remove(stage_dir)
        raise
    result.update(dir=stage_dir, size=len(data))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            url=dict(type='str', no_log=True),  # may hold user:password@ or a token (see redact_url)
            src=dict(type='path'),
            sha256=dict(type='str'),
            name=dict(type='str'),
            parent=dict(type='path', default=_stage.DEFAULT_PARENT),
            path=dict(type='path'),
            timeout=dict(type='int', default=60),
            validate_certs=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('url', 'src')],
        required_if=[('state', 'absent', ('path',))],
        supports_check_mode=True,
    )
    try:
        if module.params['state'] == 'absent':
            there = os.path.lexists(module.params['path'])
            if there and not module.check_mode:
                _stage.remove(module.params['path'])
            result = dict(changed=there, path=None, dir=module.params['path'], reaped=[])
            if module._diff and there:
                result['diff'] = {'prepared': 'remove the staging directory %s\n' % module.params['path']}
        else:
            result = present(module)
    except FileProblem as exc:
        module.fail_json(msg='stage_file: %s%s' % ('%s: ' % exc.path if exc.path else '', exc.message))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
