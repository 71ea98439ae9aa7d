#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by plugins/action/fleet_report.py.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: fleet_report
short_description: Write the fleet audit report (json, md, html, junit, csv, sarif) on the controller
version_added: 0.1.0
author:
  - runcguard maintainers (@runcguard)
description:
  - Reads the per-host summaries the C(runcguard.seccomp.audit) role sets (see
    R(runcguard.seccomp.host_summary,ansible_collections.runcguard.seccomp.host_summary_filter)) for every
    host in O(hosts), and writes one report per format in O(dest) on the controller.
  - A host in O(hosts) without a summary is listed with status C(missing); unreachable and failed hosts are
    listed as such. No host silently disappears from a report.
  - Each file is rendered, parsed back (JSON, XML, CSV, HTML) and only then written atomically (temporary file
    in the same directory, then rename). A file whose content would not change is not rewritten.
  - With O(timestamp=true), C(generated_at) is the time the report content last changed; a re-run with the
    same results keeps the files byte-identical and reports no change.
  - This is an action plugin; nothing runs on the managed hosts. Use it once per play (C(run_once)), after
    every host has its summary.
extends_documentation_fragment:
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is written; C(changed) tells whether the files would change.
  diff_mode:
    support: partial
    details:
      - The diff names the report files that would change, not their content (reports can be large).
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
    details:
      - Runs on the controller only; no module is sent to the hosts.
options:
  hosts:
    description:
      - Every host the audit covers, normally C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  summary_var:
    description: Host variable holding each host's summary.
    type: str
    default: audit_host_summary
  dest:
    description: Directory on the controller for the reports; created when missing.
    type: path
    required: true
  basename:
    description: File name stem; files are C(<basename>.json), C(.md), C(.html), C(.junit.xml), C(.csv), C(.sarif).
    type: str
    default: runcguard-audit
  formats:
    description:
      - Formats to write. V(sarif) is SARIF 2.1.0 for GitHub code scanning, GitLab and DefectDojo (one rule per
        hazard, one result per finding, waived findings suppressed); it is written only when listed.
    type: list
    elements: str
    choices: [csv, html, json, junit, md, sarif]
    default: [csv, html, json, junit, md]
  fail_on:
    description:
      - Lowest severity of an active (not waived) finding that makes RV(verdict.failed) true.
      - This plugin never fails because of findings; the caller decides (the role fails the play after the
        report is written).
    type: str
    choices: [none, info, low, medium, high, critical]
    default: none
  fail_on_unaudited:
    description: With O(fail_on) other than V(none), also set RV(verdict.failed) when a host could not be audited.
    type: bool
    default: true
  fail_query:
    description:
      - A JMESPath expression over the JSON report (C(docs/report-schema.md)), as it is written but for this
        gate's own result (C(verdict.query.failed) and C(verdict.query.result) are null when the query reads
        them). A result that is not null, false, 0, or an empty string, list or object sets RV(query.failed).
      - Every report format then names this gate and what it decided, beside O(fail_on) (C(verdict.gates) in
        JSON, the gate line in Markdown, HTML and the console table, C(kind=gate) rows in CSV, a
        C(runcguard gates) test suite in JUnit, C(properties.gates) in SARIF).
      - Compiled before anything is read or written; an invalid expression fails the task with its position.
      - Like O(fail_on), this plugin never fails because of the result; the caller decides (the C(audit) role
        fails the play, showing RV(query.result)). Needs the C(jmespath) Python library on the controller.
      - See C(docs/jmespath.md) for examples.
    type: str
  title:
    description: Report title.
    type: str
    default: runcguard.seccomp fleet audit
  waivers:
    description: Waivers in force, copied into the JSON report for the record.
    type: list
    elements: dict
    default: []
  timestamp:
    description: Put C(generated_at) in the reports (json, md, html).
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of each report file it replaces.
    type: bool
    default: false
  mode:
    description: File mode of the reports.
    type: raw
    default: '0644'
  table_rows:
    description: Most host lines in RV(table).
    type: int
    default: 25
  partial_dir:
    description:
      - Also write this run's hosts as one partial report in this directory on the controller, for a sliced
        audit (AWX/AAP job slicing) that O(merge_dir) joins later (C(runcguard.seccomp.merge), C(docs/awx.md)).
      - The partial (C(<slice>.rcg-partial.jsonl)) holds every host summary of O(hosts) (findings, errors, probe
        observations) and run metadata. The slice id is C(job-<awx_job_id>) (or C(tower_job_id)) when AWX sets
        it, otherwise unique to the run.
      - Written atomically and never over an existing file, so slices sharing the directory never overwrite or
        delete each other's partials; a second partial with the same slice id fails the task.
    type: path
  partial_only:
    description:
      - With O(partial_dir), write the partial instead of the report set (O(formats) are not written). The
        verdict and table still describe this run's hosts.
    type: bool
    default: false
  merge_dir:
    description:
      - Build the report from every partial in this directory instead of from host variables (the
        C(runcguard.seccomp.merge) playbook). The report is the one an unsliced run over the same hosts writes,
        plus a C(merge) section (partials read, error entries, duplicates, missing hosts).
      - O(hosts) then lists the hosts expected; each one in no partial is reported C(missing). Hosts of the
        partials that are not in O(hosts) are reported too.
      - A host in several partials is taken from the newest one (header C(created_at)); the report lists it
        under C(merge.duplicates). A file that is not a readable partial gives one error entry in
        C(merge.errors) (and a warning); every other file is still merged.
    type: path
  sarif_base:
    description:
      - Directory on the controller the SARIF result locations are relative to (with C(uriBaseId) C(%SRCROOT%)),
        for example the checkout of a repository of profiles, so code scanning annotates its files.
      - Profile paths outside it, and every path when it is not set, are absolute C(file://) URIs.
    type: path
notes:
  - The JSON layout is versioned (C(schema_version)) and documented in C(docs/report-schema.md).
  - Strings from hosts are treated as untrusted; HTML and Markdown escape them, CSV cells starting with
    C(=), C(+), C(-), C(@) get a leading quote.
seealso:
  - module: runcguard.seccomp.runtime_facts
'''

EXAMPLES = r'''
- name: Write the fleet report once, after every host
  runcguard.seccomp.fleet_report:
    hosts: "{{ ansible_play_hosts_all }}"
    dest: "{{ playbook_dir }}/reports"
    fail_on: high
  run_once: true
  register: report

- name: Print the summary table
  ansible.builtin.debug:
    msg: "{{ report.table }}"
  run_once: true
'''

RETURN = r'''
files:
  description: Report path per format (for a split html report, its summary page).
  returned: always
  type: dict
  sample: {json: /srv/reports/runcguard-audit.json}
pages:
  description: >-
    Host pages of the html report, when it is split (more than 10,000 hosts: a summary page at
    the C(html) path of RV(files) linking pages of 10,000 hosts each, C(<basename>.hosts-0001.html), ...).
  returned: always
  type: list
  elements: str
removed_files:
  description: >-
    Host pages of an earlier, bigger report that this report no longer has, removed (kept as backups
    with O(backup=true)).
  returned: when a file was removed
  type: list
  elements: str
changed_formats:
  description: Formats whose file was (or in check mode would be) written.
  returned: always
  type: list
  elements: str
backup_files:
  description: >-
    Backup path per format, when O(backup=true) and a file was replaced (a host page or a removed file
    under its file name).
  returned: always
  type: dict
generated_at:
  description: Timestamp in the reports (UTC), or null.
  returned: always
  type: str
totals:
  description: Host and finding counts.
  returned: always
  type: dict
  contains:
    hosts:
      description: Hosts in the report.
      type: int
    audited:
      description: Hosts audited.
      type: int
    failed:
      description: Hosts whose audit task failed.
      type: int
    unreachable:
      description: Hosts that could not be reached.
      type: int
    missing:
      description: Hosts that left the play before the audit ran.
      type: int
    findings:
      description: Active findings.
      type: int
    waived:
      description: Waived findings.
      type: int
    errors:
      description: Error entries (unreadable or malformed files, runtimes that failed to answer).
      type: int
    with_findings:
      description: Hosts with at least one active finding.
      type: int
by_severity:
  description: Active findings per severity.
  returned: always
  type: dict
max_severity:
  description: Highest active severity in the fleet, or null.
  returned: always
  type: str
verdict:
  description: Gate result for O(fail_on).
  returned: always
  type: dict
  contains:
    fail_on:
      description: The threshold used.
      type: str
    fail_on_unaudited:
      description: Whether unaudited hosts fail the gate.
      type: bool
    failed:
      description: True when the gate fails.
      type: bool
    blocking:
      description: Active findings at or above the threshold, C({host, id, severity, profile}); the first 100.
      type: list
      elements: dict
    blocking_count:
      description: Number of blocking findings.
      type: int
    unaudited:
      description: Hosts not audited (failed, unreachable, missing); the first 100.
      type: list
      elements: str
    unaudited_count:
      description: Number of hosts not audited.
      type: int
    message:
      description:
        - One line for people and for C(ansible.builtin.fail), naming the blocking and unaudited hosts (at most
          20 of each) and the report file; says the gate passed or was not applied otherwise.
      type: str
      sample: "runcguard audit gate failed (audit_fail_on=high): 2 active finding(s) at or above high (web1),
        1 host(s) not audited (db3). See reports/runcguard-audit.json."
partial:
  description: Path of the partial written (in check mode, that would be written).
  returned: when O(partial_dir) is set
  type: str
merge:
  description: What the merge read, bounded to 100 entries per list (the JSON report has all of it).
  returned: when O(merge_dir) is set
  type: dict
  contains:
    dir:
      description: The merge directory.
      type: str
    partials:
      description: Partials merged.
      type: int
    errors:
      description: C({path, error}) per file (or line) that could not be merged.
      type: list
      elements: dict
    errors_count:
      description: Number of error entries.
      type: int
    duplicates:
      description: C({host, used, ignored}) per host found in more than one partial.
      type: list
      elements: dict
    duplicates_count:
      description: Number of hosts in more than one partial.
      type: int
    missing:
      description: Expected hosts in no partial.
      type: list
      elements: str
    missing_count:
      description: Number of expected hosts in no partial.
      type: int
query:
  description: Result of O(fail_query).
  returned: when O(fail_query) is set
  type: dict
  contains:
    expression:
      description: The expression.
      type: str
    failed:
      description: True when the result is not null, false, 0, or an empty string, list or object.
      type: bool
    result:
      description: The result as compact JSON, cut after 2000 characters.
      type: str
      sample: '["node3", "node7"]'
    message:
      description: One line for people and for C(ansible.builtin.fail), with the expression, the result and the report file.
      type: str
      sample: 'runcguard audit gate failed (audit_fail_query=hosts[?counts.critical > `0`].host): result ["node3", "node7"]. See reports/runcguard-audit.json.'
expired_waivers:
  description: Waivers that matched a finding but have expired, with the hosts concerned (the first 100).
  returned: always
  type: list
  elements: dict
timings:
  description: Seconds spent reading host summaries (C(collect)), rendering (C(render)) and validating and writing (C(write)).
  returned: always
  type: dict
  sample: {collect: 0.4, render: 3.1, write: 0.9}
table:
  description: A short fixed-width summary table, one line per host with findings or errors.
  returned: always
  type: list
  elements: str
'''
