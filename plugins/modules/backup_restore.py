#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: backup_restore
short_description: Put files back from the backups this collection made, with their owner, group, mode and xattrs
version_added: 0.2.0
description:
  - Replaces the C(path) of each entry of O(files) with the bytes of its C(backup) and gives it the backup's owner, group,
    mode and extended attributes (a backup made by C(runcguard.seccomp.seccomp_profile) or C(profile_fix)
    carries those of the original), atomically (a scratch file beside it, then a rename), then removes the
    backup.
  - The C(path) is restored as named. A root-owned symlink in root's own directories is followed, a symlink
    a non-root user owns or could have placed never is (an error entry, nothing is written or created where
    it points). The C(backup) must be a regular file with one link in the directory the file is restored in.
  - Used by the C(runcguard.seccomp.remediate) rollback. One call for every file of a host; a file that cannot
    be restored is an error entry and the others are still restored.
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run finds the backups gone and changes nothing.
  platform:
    support: full
    platforms: posix
options:
  files:
    description:
      - The files to put back, each a dict with C(path) (the file) and C(backup) (its backup); other keys are
        ignored (the remediation's change records are passed as they are).
    type: list
    elements: dict
    required: true
  remove_backups:
    description: Remove each backup once its file is restored.
    type: bool
    default: true
  allow_user_owned:
    description:
      - Restore a file that a non-root user owns or can change, or that lies below such a directory (the same
        choice C(runcguard.seccomp.seccomp_profile) made when it rewrote it). Done race-free, the owner kept.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Restore profiles from their backups
  runcguard.seccomp.backup_restore:
    files:
      - path: /var/lib/kubelet/seccomp/profiles/app.json
        backup: /var/lib/kubelet/seccomp/profiles/app.json.1234.2026-01-01@00:00:00~
'''

RETURN = r'''
restored:
  description: Paths put back.
  returned: always
  type: list
  elements: str
errors:
  description: One entry per file that could not be restored (C(path), C(msg)).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runcguard.seccomp.plugins.module_utils import _files, _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import record


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True),
            remove_backups=dict(type='bool', default=True),
            allow_user_owned=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    restored, errors = [], []
    for item in module.params['files']:
        path, backup = item.get('path'), item.get('backup')
        if not isinstance(path, str) or not isinstance(backup, str) or not path.startswith('/') \
                or not backup.startswith('/'):
            errors.append({'path': str(path), 'msg': 'each entry needs an absolute path and backup'})
            continue
        try:
            if _safefile.restore_backup(path, backup, module.params['allow_user_owned'],
                                        remove_backup=module.params['remove_backups'], check=module.check_mode,
                                        max_size=record.FILE_LIMIT):
                restored.append(path)
        except (OSError, _files.FileProblem, record.RecordError) as exc:
            errors.append({'path': path, 'msg': getattr(exc, 'message', None) or str(exc)})
    result = dict(changed=bool(restored), restored=restored, errors=errors)
    if errors:
        module.fail_json(msg='backup_restore: %s' % '; '.join('%s: %s' % (e['path'], e['msg']) for e in errors), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
