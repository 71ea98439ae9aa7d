# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: write the remediation report on the controller (docs in plugins/modules/remediation_report.py).

Reads each host's ``remediate_host_result`` from hostvars, builds the report with
plugin_utils._remediation_report and writes it with the fleet report's writer
(plugin_utils._report_files: one lock, atomic files). Nothing is sent to a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.modules import remediation_report as _doc
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _argspec, _remediation_report, _report_files

ARGUMENT_SPEC = _argspec.argument_spec(_doc.DOCUMENTATION)
NAME = 'runcguard.seccomp.remediation_report'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            mode = _report_files.file_mode(args['mode'])
        except ValueError as exc:
            raise AnsibleActionFail('%s: %s' % (NAME, exc))
        check_mode = bool(self._task.check_mode)
        dest = _report_files.report_dir(args['dest'])
        stem = args['basename'] + ('-plan' if check_mode else '')
        formats = list(dict.fromkeys(args['formats']))
        paths = dict((fmt, os.path.join(dest, '%s.%s' % (stem, fmt))) for fmt in formats)
        results = _report_files.host_values(task_vars, args['hosts'], args['result_var'])
        report = _remediation_report.build(
            results, args['hosts'], check_mode=check_mode, min_severity=args['min_severity'], policy=args['policy'],
            select=args['select'],
            generated_at=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))
        texts = dict((fmt, _remediation_report.RENDERERS[fmt](report)) for fmt in formats)
        try:
            _written, _backups, leftovers = _report_files.write_set(dest, stem, paths, texts, mode)
        except FileProblem as exc:
            raise AnsibleActionFail('%s: %s' % (NAME, exc.message))
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('%s: cannot write the report in %s: %s' % (NAME, dest, exc))
        if leftovers:
            result.setdefault('warnings', []).append(
                'removed what an interrupted report run left in %s: %s' % (dest, ', '.join(leftovers)))
        files = [paths[fmt] for fmt in formats]
        result.update({
            'changed': False,  # controller-side output, not host state
            'files': paths,
            'totals': report['totals'],
            'generated_at': report['generated_at'],
            'lines': _remediation_report.report_lines(report, files),
        })
        return result
