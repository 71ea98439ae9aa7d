#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by plugins/action/audit_host.py, whose argument spec is read
# from the options below (plugins/plugin_utils/_argspec.py).

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: audit_host
short_description: Audit one host for seccomp NOTIFY hazards in one task and return its summary
version_added: 0.1.0
author:
  - runcguard maintainers (@runcguard)
description:
  - Runs M(runcguard.seccomp.runtime_facts) on the host (one module round trip, bounded by O(timeout)), or
    reuses C(ansible_facts.runcguard) with O(facts_source=cached); optionally runs M(runcguard.seccomp.notify_probe)
    on the runtimes found (O(probe)); then evaluates the findings, the probe observations and the waivers on the
    controller and returns the host summary.
  - The result is the summary the C(runcguard.seccomp.audit) role registers as C(audit_host_summary) and
    M(runcguard.seccomp.fleet_report) reads (the same data as the
    R(runcguard.seccomp.host_summary,ansible_collections.runcguard.seccomp.host_summary_filter) filter).
  - Waivers may carry a JMESPath C(when) over the finding (see the C(runcguard.seccomp.audit) role).
  - An unreachable host returns a summary with C(status=unreachable) (and C(unreachable=true), so use
    C(ignore_unreachable=true) to keep the host in the play); a host whose facts could not be gathered (module
    failure, O(timeout) passed) returns C(status=failed) with a warning. Invalid O(waivers) fail the task.
  - Changes nothing on the host. Gathered facts are returned as C(ansible_facts.runcguard), so fact caches and
    later tasks see them as if M(runcguard.seccomp.runtime_facts) had run.
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
  facts_source:
    description:
      - V(gather) runs M(runcguard.seccomp.runtime_facts) on the host.
      - V(cached) reuses C(ansible_facts.runcguard) when the host already has it (from C(ansible_facts_modules)
        or a fact cache) and gathers only where it is missing. Cached facts may be old.
    type: str
    choices: [gather, cached]
    default: gather
  timeout:
    description:
      - Seconds each module run (the fact scan, the probe) may take on the host; past it the host is C(failed).
    type: int
    default: 300
  waivers:
    description:
      - Accepted findings, C({id, host, profile, reason, expires}) as in the C(runcguard.seccomp.audit) role's
        C(audit_waivers). Checked before the host is contacted.
    type: list
    elements: dict
    default: []
  fail_query:
    description:
      - The report gate's JMESPath expression (the C(runcguard.seccomp.audit) role's C(audit_fail_query)). Only
        compiled here, so an invalid expression fails the task before the host is contacted;
        M(runcguard.seccomp.fleet_report) evaluates it over the report. Empty means none.
    type: str
    default: ""
  today:
    description: Day waiver expiry dates are compared with (C(YYYY-MM-DD)); empty means today (UTC).
    type: str
    default: ""
  probe:
    description:
      - Also run M(runcguard.seccomp.notify_probe) on every runtime found (canary containers, needs root).
        Observed hangs and disagreements with the version data become findings; a probe that fails becomes an
        error entry of the host.
    type: bool
    default: false
  probe_syscalls:
    description: Syscalls to probe; empty means the probe's default list.
    type: list
    elements: str
    default: []
  probe_sweep:
    description:
      - With O(probe=true), sweep every syscall of the host's table instead of a short list
        (M(runcguard.seccomp.notify_probe) with O(runcguard.seccomp.notify_probe#module:sweep=true), a few
        container starts per runtime and mode).
        A syscall the runtime hangs on is a C(notify-probe-hang) finding naming it.
    type: bool
    default: false
  probe_timeout:
    description: Seconds one probe may take before it counts as a hang.
    type: int
    default: 10
  max_findings:
    description:
      - Findings kept in the host's summary, active before waived, most severe first. The rest are counted per
        hazard and severity in C(omitted), so severity counts, report totals and the gate stay exact, and the host
        gets an error entry saying how many were left out. Keeps one host with crafted facts from exhausting the
        controller and the reports.
    type: int
    default: 2000
  role_variables:
    description:
      - Every option not set in the task is read from the C(runcguard.seccomp.audit) role's variable for it
        (C(audit_<option>); O(max_findings) from C(audit_max_findings_per_host)), when that variable is defined,
        and templated here. An empty C(audit_root) and a null C(audit_execute) leave O(root) and O(execute) unset.
      - The role's host task sets this instead of passing two dozen templated arguments, which were a fifth of
        the audit's controller time per host.
    type: bool
    default: false
notes:
  - One task per host is the point of this action. On large fleets the controller's per-task cost, not the
    module, dominates the audit's wall time (docs/benchmarks.md).
seealso:
  - module: runcguard.seccomp.runtime_facts
  - module: runcguard.seccomp.fleet_report
'''

EXAMPLES = r'''
- name: Audit every host, one task each
  runcguard.seccomp.audit_host:
    waivers:
      - id: notify-runtime-sensitive
        host: "web*"
        reason: bypass4netns intercepts close on purpose (TICKET-12)
        expires: "2026-12-31"
  ignore_unreachable: true
  register: audit_host_summary

- name: Write the fleet report once, after every host
  runcguard.seccomp.fleet_report:
    hosts: "{{ ansible_play_hosts_all }}"
    dest: reports
  run_once: true
'''

RETURN = r'''
host:
  description: Inventory name of the host.
  returned: always
  type: str
status:
  description: V(ok) (audited), V(failed) (facts could not be gathered) or V(unreachable).
  returned: always
  type: str
message:
  description: Why the host was not audited, or null.
  returned: always
  type: str
findings:
  description: Findings (version and probe based), each with C(waived) and the matching C(waiver); at most
    O(max_findings).
  returned: always
  type: list
  elements: dict
omitted:
  description: Findings left out by O(max_findings), C({id, severity, title, findings, waived}) per hazard and
    severity; every count includes them.
  returned: always
  type: list
  elements: dict
errors:
  description: Error entries C({source, path, error}) of the facts and of the probe.
  returned: always
  type: list
  elements: dict
runtimes:
  description: Runtimes found, C({name, path, version, error}).
  returned: always
  type: list
  elements: dict
profiles:
  description: Number of seccomp profiles described.
  returned: always
  type: int
notify_profiles:
  description: Number of profiles with NOTIFY rules.
  returned: always
  type: int
probe:
  description: Probe observations, compact.
  returned: always
  type: list
  elements: dict
counts:
  description: Active findings per severity.
  returned: always
  type: dict
waived:
  description: Number of waived findings.
  returned: always
  type: int
max_severity:
  description: Highest active severity, or null.
  returned: always
  type: str
ansible_facts:
  description: C(runcguard), the facts gathered by M(runcguard.seccomp.runtime_facts) (not returned when cached facts were used).
  returned: when gathered
  type: dict
'''
