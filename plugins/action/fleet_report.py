# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: write the fleet audit report on the controller (docs in plugins/modules/fleet_report.py).

Runs only on the controller: it reads every host's summary from hostvars, builds the fleet with
plugin_utils._report, renders and validates each format with plugin_utils._renderers and writes
each file atomically through module_utils._safefile (relative to the report directory opened once:
temporary file, backup, rename). Nothing is sent to a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import time

from ansible import release as ansible_release
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.modules import fleet_report as _doc
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import (
    _argspec, _partials, _renderers, _report, _report_files, _report_text,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import QueryError, describe, optional_query, truthy

RESULT_LIMIT = 100

ARGUMENT_SPEC = _argspec.argument_spec(_doc.DOCUMENTATION)


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
            raise AnsibleActionFail('runcguard.seccomp.fleet_report: %s' % exc)
        try:
            gate = optional_query(args['fail_query'], 'fail_query')
        except QueryError as exc:
            raise AnsibleActionFail('runcguard.seccomp.fleet_report: %s' % exc)
        # partial_only: this slice's partial, no report set (the merge writes it)
        formats = [] if args['partial_only'] else list(dict.fromkeys(args['formats']))
        dest = args['dest']
        paths = dict((fmt, os.path.join(dest, '%s.%s' % (args['basename'], _renderers.EXTENSIONS[fmt])))
                     for fmt in formats)
        # SARIF locations relative to sarif_base (a repository of profiles), absolute otherwise.
        options = {'sarif': {'base': os.path.abspath(args['sarif_base']) if args['sarif_base'] else None}}
        started = time.time()
        merged = None
        if args['merge_dir']:
            # the hosts of every partial in merge_dir; hosts lists those expected (missing if in none)
            try:
                summaries, merged = _partials.read_partials(args['merge_dir'], expect=args['hosts'])
            except _partials.PartialError as exc:
                raise AnsibleActionFail('runcguard.seccomp.fleet_report: %s' % exc)
        else:
            summaries = _report_files.host_values(task_vars, args['hosts'], args['summary_var'])
        timings = {'collect': time.time() - started}

        # The report a person opens first: JSON when written, else the first format.
        report_path = paths.get('json') or next(iter(paths.values()), None)
        query = {}

        def build(stamp):
            fleet = _report.build_fleet(summaries, hosts=args['hosts'], fail_on=args['fail_on'],
                                        fail_on_unaudited=args['fail_on_unaudited'], generated_at=stamp,
                                        title=args['title'], waivers=args['waivers'])
            if merged is not None:
                fleet['merge'] = merged
            if gate is not None:
                # The query reads the JSON report with its own result not yet decided; every format
                # then states what it decided.
                _report.set_query_verdict(fleet, gate.expression)
                query.update(self._query(gate, fleet, report_path))
                _report.set_query_verdict(fleet, gate.expression, query['failed'], query['result'])
            return fleet

        # Same results as the report on disk -> same bytes (its timestamp kept) -> nothing written.
        # Every file is rendered in chunks and compared with the one on disk as it goes, never held
        # whole (a 100,000-host JSON report is 220 MB); a host page set of an earlier, bigger report
        # that this one no longer has is removed.
        previous = _report_files.previous_timestamp(paths) if args['timestamp'] else None
        started = time.time()
        fleet = build(previous)

        def files_of(fleet):
            return [(fmt, name, make) for fmt in formats
                    for name, make in _renderers.render_files(fleet, fmt, args['basename'], options)]
        files = files_of(fleet)
        stale = [name for fmt in formats
                 for name in _report_files.stale_in(dest, args['basename'], files, _renderers.extra_files(fmt))]
        existing = dict((fmt, os.path.exists(path)) for fmt, path in paths.items())
        try:
            changed_formats = _report_files.differing(dest, files, first=not self._task.check_mode)
            if changed_formats and args['timestamp']:
                now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
                fleet = build(now)
                files = files_of(fleet)
            if self._task.check_mode:
                changed_formats = list(dict.fromkeys(changed_formats + [self._format_of(n, files) for n in stale]))
            timings['render'] = time.time() - started
            started = time.time()
            backups = {}
            if (changed_formats or stale or _report_files.leftovers_in(dest, args['basename'])) \
                    and not self._task.check_mode:
                changed_formats, backups, leftovers, removed = self._write(dest, args['basename'], files, mode,
                                                                           args['backup'], stale)
                if leftovers:
                    result.setdefault('warnings', []).append(
                        'removed what an interrupted report run left in %s: %s' % (dest, ', '.join(leftovers)))
                if removed:
                    result['removed_files'] = removed
        except _renderers.RenderError as exc:  # a renderer bug must never overwrite a good report
            raise AnsibleActionFail('runcguard.seccomp.fleet_report: %s' % exc)
        if args['partial_dir']:
            result['partial'] = self._partial(args['partial_dir'], fleet, task_vars, mode)
        timings['write'] = time.time() - started
        if merged is not None:
            result['merge'] = self._merge_result(merged)
            result.setdefault('warnings', []).extend(
                'merge: %s: %s' % (item['path'], item['error']) for item in merged['errors'][:20])
            if merged['duplicates']:
                result['warnings'].append('merge: %d host(s) are in more than one partial; the newest partial '
                                          'was used (the report lists them under merge.duplicates)'
                                          % len(merged['duplicates']))
        if self._task.diff:
            result['diff'] = [{'before_header': paths[fmt], 'after_header': paths[fmt],
                               'before': '(previous %s report)\n' % fmt if existing[fmt] else '',
                               'after': '(new %s report)\n' % fmt} for fmt in changed_formats]
        if gate is not None:
            result['query'] = query
        result.update({
            'changed': bool(changed_formats) or bool(result.get('partial')) or bool(result.get('removed_files')),
            'files': paths,
            'pages': [os.path.join(dest, name) for fmt, name, _make in files
                      if name != os.path.basename(paths[fmt])],
            'changed_formats': changed_formats,
            'backup_files': backups,
            'generated_at': fleet['generated_at'],
            'totals': fleet['totals'],
            'by_severity': fleet['by_severity'],
            'max_severity': fleet['max_severity'],
            # Bounded: the full lists are in the JSON report; a huge result slows Ansible down.
            'verdict': dict(fleet['verdict'], blocking=fleet['verdict']['blocking'][:RESULT_LIMIT],
                            blocking_count=len(fleet['verdict']['blocking']),
                            unaudited=fleet['verdict']['unaudited'][:RESULT_LIMIT],
                            unaudited_count=len(fleet['verdict']['unaudited']),
                            message=_report_text.verdict_message(fleet, report_path)),
            'expired_waivers': fleet['expired_waivers'][:RESULT_LIMIT],
            'table': _report_text.summary_table(fleet, args['table_rows']),
            'timings': dict((k, round(v, 3)) for k, v in timings.items()),
        })
        return result

    @staticmethod
    def _write(dest, basename, files, mode, backup, stale):
        """Write the changed files under one lock (_report_files.write_files), so two runs never leave a
        mixed set. Returns (formats written, backups, leftovers of a killed run removed, stale files removed).
        """
        try:
            return _report_files.write_files(dest, basename, files, mode, backup, stale)
        except FileProblem as exc:
            raise AnsibleActionFail('runcguard.seccomp.fleet_report: %s' % exc.message)
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('runcguard.seccomp.fleet_report: cannot write the report in %s: %s' % (dest, exc))

    @staticmethod
    def _format_of(name, files):
        return next((fmt for fmt, other, _make in files if name.endswith('.' + _renderers.EXTENSIONS[fmt])), name)

    def _partial(self, directory, fleet, task_vars, mode):
        """This run's partial (one file, never over another's); its path (not written in check mode)."""
        try:
            slice_name = _partials.slice_id(task_vars)
            path = os.path.join(directory, _partials.partial_name(slice_name))
            if self._task.check_mode:
                return path
            return _partials.write_partial(directory, fleet['hosts'], slice_name, mode=mode,
                                           run=_partials.run_metadata(task_vars, ansible_release.__version__))
        except _partials.PartialError as exc:
            raise AnsibleActionFail('runcguard.seccomp.fleet_report: %s' % exc)

    @staticmethod
    def _merge_result(merged):
        """The merge section, bounded (the JSON report has it all)."""
        return {'dir': merged['dir'], 'partials': len(merged['partials']),
                'errors': merged['errors'][:RESULT_LIMIT], 'errors_count': len(merged['errors']),
                'duplicates': merged['duplicates'][:RESULT_LIMIT], 'duplicates_count': len(merged['duplicates']),
                'missing': merged['missing'][:RESULT_LIMIT], 'missing_count': len(merged['missing'])}

    @staticmethod
    def _query(gate, fleet, report_path):
        """fail_query over the JSON report's data (plain JSON types, no Ansible wrappers: the values a
        reader of the file gets; compact, not indented, it is never written)."""
        try:
            value = gate.search(json.loads(json.dumps(fleet, ensure_ascii=False, default=str)), 'the fleet report')
        except QueryError as exc:
            raise AnsibleActionFail('runcguard.seccomp.fleet_report: %s' % exc)
        failed, shown = truthy(value), describe(value)
        message = 'runcguard audit gate %s (audit_fail_query=%s): result %s.%s' % (
            'failed' if failed else 'passed', gate.expression, shown, ' See %s.' % report_path if report_path else '')
        return {'expression': gate.expression, 'failed': failed, 'result': shown, 'message': message}
