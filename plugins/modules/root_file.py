#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: root_file
short_description: Write or remove one small root-owned file race-free (the collection's own state and settings files)
version_added: 0.2.0
description:
  - Makes O(path) hold O(content), root-owned with O(mode), or (O(state=absent)) removes it, through the collection's
    race-free helper (C(module_utils/_safefile.py), see C(docs/security.md)) the way every file the collection
    writes as root is written - the directory opened once without following anyone's links, a scratch file
    beside the file, the inode checked before the rename, a lock. A file or directory a non-root user owns or
    can change is refused, never written.
  - Used by the roles for what they used C(template), C(copy) and C(file) for (C(runc_pin)'s apt preferences,
    C(remediate)'s C(failed.json) and its state directory).
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
options:
  path:
    description: The file (absolute). A symlink is followed only where root alone could have made it.
    type: path
    required: true
  state:
    description: V(present) writes O(content), V(absent) removes the file.
    type: str
    choices: [present, absent]
    default: present
  content:
    description: The file's text (UTF-8). Required with O(state=present).
    type: str
  mode:
    description: The file's mode (octal string such as V('0644')); owner and group are root.
    type: raw
    default: '0644'
  directory_mode:
    description:
      - Create missing directories above O(path), root-owned with this mode (octal string). Unset, a missing
        directory is an error.
    type: raw
'''

EXAMPLES = r'''
- name: Remember a failed plan
  runcguard.seccomp.root_file:
    path: /var/lib/runcguard/remediate/failed.json
    content: "{{ {'fingerprint': 'abc'} | to_nice_json }}\n"
    mode: '0600'
    directory_mode: '0700'
'''

RETURN = r'''
path:
  description: The file.
  returned: always
  type: str
dirs:
  description: Directories created (or that would be created in check mode).
  returned: always
  type: list
  elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem

MAX_SIZE = 1 << 20


def _mode(value, option):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        try:
            return int(value.strip(), 8)
        except ValueError:
            pass
    raise ValueError('%s must be an octal mode such as 0644, got %r' % (option, value))


def _missing_dirs(path):
    out, parent = [], os.path.dirname(path)
    while parent not in ('', '/') and not os.path.lexists(parent):
        out.append(parent)
        parent = os.path.dirname(parent)
    return list(reversed(out))


def _text(data):
    return data.decode('utf-8', 'replace') if data is not None else ''


def present(module, path, mode):
    data = module.params['content'].encode('utf-8')
    dirs = _missing_dirs(path)
    if dirs and module.params['directory_mode'] is None:
        raise FileProblem('%s does not exist (set directory_mode to create it)' % dirs[0], path)
    before, attrs = None, None
    if not dirs:
        sdir, name = _safefile.SafeDir.for_file(path, must_exist=False, action='write')
        with sdir:
            current = sdir.attributes(name)
            if current is not None:
                before = sdir.read(name, MAX_SIZE)[0]
                attrs = _safefile.Attributes(0, 0, mode, current.xattrs)
                changed = before != data or current.__dict__ != attrs.__dict__
            else:
                changed = True
    else:
        changed = True
        control = _safefile.user_control(os.path.dirname(dirs[0]))
        if control:
            raise _safefile.UserControlled('%s is %s: root does not create directories there' % control, path)
    result = dict(changed=changed, path=path, dirs=dirs)
    if module._diff and changed:
        result['diff'] = {'before_header': path if before is not None else '%s (absent)' % path, 'after_header': path,
                          'before': _text(before), 'after': _text(data)}
    if changed and not module.check_mode:
        if dirs:
            dmode = _mode(module.params['directory_mode'], 'directory_mode')
            with _safefile.SafeDir.open(os.path.dirname(path), create=True, mode=dmode) as sdir:
                os.fchmod(sdir.fd, dmode)  # the umask narrowed it
        _safefile.write_file(path, data, attrs=attrs or _safefile.Attributes(0, 0, mode), max_size=MAX_SIZE)
    return result


def absent(module, path):
    there = os.path.lexists(path)
    if there:
        sdir, name = _safefile.SafeDir.for_file(path, must_exist=False, action='remove')
        with sdir:
            before = sdir.read(name, MAX_SIZE)[0] if sdir.lstat(name) is not None else None
    result = dict(changed=there, path=path, dirs=[])
    if module._diff and there:
        result['diff'] = {'before_header': path, 'after_header': '%s (absent)' % path, 'before': _text(before),
                          'after': ''}
    if there and not module.check_mode:
        _safefile.remove_file(path)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            content=dict(type='str'),
            mode=dict(type='raw', default='0644'),
            directory_mode=dict(type='raw'),
        ),
        required_if=[('state', 'present', ('content',))],
        supports_check_mode=True,
    )
    path = module.params['path']
    if not os.path.isabs(path):
        module.fail_json(msg='root_file: path must be absolute, got %s' % path)
    try:
        mode = _mode(module.params['mode'], 'mode')
        if module.params['directory_mode'] is not None:
            _mode(module.params['directory_mode'], 'directory_mode')
        if module.params['state'] == 'absent':
            result = absent(module, path)
        else:
            result = present(module, path, mode)
    except ValueError as exc:
        module.fail_json(msg='root_file: %s' % exc)
    except FileProblem as exc:  # _safefile.UserControlled included
        module.fail_json(msg='root_file: %s%s' % ('%s: ' % exc.path if exc.path else '', exc.message), path=path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
