# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: audit one host in one task (docs in plugins/modules/audit_host.py).

One runtime_facts round trip (or none with cached facts), an optional notify_probe, then findings,
probe findings and waivers evaluated here on the controller. The result is the host summary
(plugin_utils._report.host_summary) so the audit role registers it as ``audit_host_summary``:
one task per host instead of one per step.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import signal

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.outcome import OUT_OF_TIME
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate
from ansible_collections.runcguard.seccomp.plugins.modules import audit_host as _doc
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _argspec
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._probe_findings import probe_findings
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import QueryError, optional_query
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import host_summary
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import WaiverError, apply_waivers, normalize_waivers

ARGUMENT_SPEC = _argspec.argument_spec(_doc.DOCUMENTATION)
SCAN_OPTIONS = ('profile_paths', 'runtime_paths', 'discover', 'command_timeout', 'max_profile_size', 'max_profiles',
                'max_profiles_per_user', 'root', 'execute', 'users')
SCAN_MARGIN = 5  # seconds: the module's own bound ends before the task's (module start-up, reading files)
# role_variables: the audit role's variable for each option (its host task passes none of them)
ROLE_VARIABLES = dict((name, 'audit_' + name) for name in ARGUMENT_SPEC if name != 'role_variables')
ROLE_VARIABLES['max_findings'] = 'audit_max_findings_per_host'
UNSET_WHEN = {'root': ('',), 'execute': (None,)}  # the role's "not set" values of these options


class _Overdue(Exception):
    pass


@contextlib.contextmanager
def _time_bound(seconds):
    """Raise _Overdue when the body takes longer than ``seconds`` (SIGALRM: workers run tasks in
    their main thread). The module left running on the host ends by its own command bounds."""
    def overdue(signum, frame):
        raise _Overdue()
    previous = signal.signal(signal.SIGALRM, overdue)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


WAIVERS_LABEL = 'waivers (audit_waivers)'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _module(self, name, args, task_vars, seconds):
        """(result, unreachable message or None) of one module run, bounded by ``seconds``."""
        try:
            with _time_bound(seconds):
                result = self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        except _Overdue:
            return {'failed': True, 'msg': '%s did not finish within %d s (audit_timeout)' % (name, seconds)}, None
        except AnsibleConnectionFailure as exc:
            return {}, str(exc) or 'unreachable'
        if result.get('unreachable'):
            return result, result.get('msg') or 'unreachable'
        return result, None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        if self._task.args.get('role_variables'):
            self._task.args = self._with_role_variables(task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args['timeout'] < 1:
            raise AnsibleActionFail('runcguard.seccomp.audit_host: timeout must be at least 1 second')
        if args['max_findings'] < 0:
            raise AnsibleActionFail('runcguard.seccomp.audit_host: max_findings must be 0 or more')
        host = task_vars.get('inventory_hostname')
        if args['root'] and args['execute']:
            raise AnsibleActionFail('runcguard.seccomp.audit_host: root (audit_root) reads the node\'s files and runs '
                                    'none of them; execute (audit_execute) must be false or unset')
        if args['probe'] and (args['root'] or args['execute'] is False):
            raise AnsibleActionFail('runcguard.seccomp.audit_host: probe (audit_probe) starts containers with the '
                                    'runtimes found; it cannot be combined with root (audit_root) or execute=false '
                                    '(audit_execute), which run none of the host\'s binaries')
        try:  # configuration errors stop the task before the host is contacted
            # labels name the option and the audit role's variable that sets it
            waivers = normalize_waivers(args['waivers'], WAIVERS_LABEL)
            optional_query(args['fail_query'], 'fail_query (audit_fail_query)')
        except (QueryError, WaiverError) as exc:
            raise AnsibleActionFail('runcguard.seccomp.audit_host: %s' % exc)
        result['changed'] = False

        facts = None
        if args['facts_source'] == 'cached':
            cached = (task_vars.get('ansible_facts') or {}).get('runcguard')
            facts = cached if isinstance(cached, dict) else None
        if facts is None:
            scan = dict((name, args[name]) for name in SCAN_OPTIONS if args[name] is not None)
            # the module stops starting commands a little before this task gives up on it
            scan['scan_timeout'] = max(1, args['timeout'] - SCAN_MARGIN)
            gathered, unreachable = self._module('runcguard.seccomp.runtime_facts', scan, task_vars, args['timeout'])
            if unreachable:
                result.update(host_summary(host, status='unreachable', message=unreachable),
                              unreachable=True, msg=unreachable)
                return result
            facts = (gathered.get('ansible_facts') or {}).get('runcguard')
            if gathered.get('failed') or not isinstance(facts, dict):
                return self._not_audited(result, host, gathered.get('msg') or 'runtime_facts returned no facts')
            result['ansible_facts'] = {'runcguard': facts}

        try:
            findings = evaluate(facts)
        except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as exc:  # malformed facts
            # never handed on: nested hundreds deep they would fail the run's later steps for every host
            result.pop('ansible_facts', None)
            return self._not_audited(result, host, 'the facts are malformed and were not evaluated: %s' % exc)
        probe, errors = None, []
        if args['probe'] and facts.get('runtimes'):
            probe, errors = self._probe(facts, args, task_vars)
            if probe is not None:
                findings = findings + probe_findings(probe, findings)
        try:
            findings = apply_waivers(findings, waivers, host, today=args['today'] or None, variable=WAIVERS_LABEL)
        except WaiverError as exc:
            raise AnsibleActionFail('runcguard.seccomp.audit_host: %s' % exc)
        result.update(host_summary(host, facts, findings, errors=errors, probe=probe,
                                   max_findings=args['max_findings']))
        return result

    def _with_role_variables(self, task_vars):
        """The task's arguments plus, for each option it does not set, the role variable's templated value."""
        args = dict(self._task.args)
        for name, variable in ROLE_VARIABLES.items():
            if name not in args and variable in task_vars:
                value = self._templar.template(task_vars[variable])
                if value not in UNSET_WHEN.get(name, ()):
                    args[name] = value
        return args

    @staticmethod
    def _not_audited(result, host, message):
        result.update(host_summary(host, status='failed', message=message))
        result['warnings'] = ['%s: not audited: %s' % (host, message)]
        return result

    def _probe(self, facts, args, task_vars):
        """notify_probe observations of the runtimes the facts found: (results, error entries)."""
        runtimes = [r for r in facts['runtimes'] if isinstance(r, dict) and r.get('path')]
        # a user's own binary is probed as that user (never run by root); the system's as root
        per_user = {}
        for runtime in runtimes:
            owner = runtime.get('owner') if isinstance(runtime.get('owner'), dict) else None
            if owner and owner.get('name'):
                per_user.setdefault(str(owner['name']), []).append(runtime['path'])
        probe_args = {'runtime': [r['path'] for r in runtimes if not isinstance(r.get('owner'), dict)],
                      'timeout': args['probe_timeout']}
        if per_user:
            probe_args['user_runtimes'] = per_user
        if args['probe_syscalls']:
            probe_args['syscalls'] = args['probe_syscalls']
        if args['probe_sweep']:
            probe_args['sweep'] = True
        # the module stops starting probes before this task gives up on it: nothing of it outlives the task
        probe_args['total_timeout'] = max(1, args['timeout'] - SCAN_MARGIN)
        observed, unreachable = self._module('runcguard.seccomp.notify_probe', probe_args, task_vars, args['timeout'])
        message = unreachable or (observed.get('msg') or 'notify_probe failed' if observed.get('failed') else None)
        if message:
            return None, [{'source': 'probe', 'path': None, 'error': message}]
        # probes left out at the time limit: the observation is incomplete, and the report says so
        errors = [{'source': 'probe', 'path': s.get('runtime'), 'error': s.get('message')}
                  for s in observed.get('not_probed') or () if isinstance(s, dict)
                  and str(s.get('message', '')).startswith(OUT_OF_TIME)]
        errors.extend({'source': 'probe', 'path': s.get('runtime'), 'error': s.get('message')}
                      for s in observed.get('sweeps') or () if isinstance(s, dict) and s.get('untested'))
        return observed.get('results') or [], errors
