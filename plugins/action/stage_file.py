# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: stage_file with ``src`` on the controller (docs in plugins/modules/stage_file.py).

The controller's file is checked against ``sha256`` on the controller first (a wrong file never
reaches the host), transferred into Ansible's temporary directory on the host, and handed to the
module, which checks it again and stages it in a root-only directory. With ``url`` (or
``state=absent``) the module runs as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase

NAME = 'runcguard.seccomp.stage_file'


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if not args.get('src') or args.get('state', 'present') != 'present':
            result.update(self._execute_module(module_name=NAME, module_args=args, task_vars=task_vars))
            return result
        try:
            local = self._find_needle('files', args['src'])
        except AnsibleError as exc:
            raise AnsibleActionFail('%s: %s' % (NAME, exc))
        want = str(args.get('sha256') or '').lower()
        got = _sha256(local)
        if got != want:
            raise AnsibleActionFail('%s: %s has sha256 %s, expected %s; nothing was changed on %s'
                                    % (NAME, local, got, want or '(none given)',
                                       task_vars.get('inventory_hostname', 'the host')))
        args.setdefault('name', os.path.basename(local))
        try:
            if not self._task.check_mode:
                remote = self._connection._shell.join_path(self._connection._shell.tmpdir, 'stage-source')
                self._transfer_file(local, remote)
                self._fixup_perms2((self._connection._shell.tmpdir, remote))
                args['src'] = remote
            result.update(self._execute_module(module_name=NAME, module_args=args, task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
