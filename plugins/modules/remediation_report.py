#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by plugins/action/remediation_report.py.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: remediation_report
short_description: Write the remediation report (json, md) on the controller
version_added: 0.1.0
author:
  - runcguard maintainers (@runcguard)
description:
  - Reads the per-host result the C(runcguard.seccomp.remediate) role sets (C(remediate_host_result)) for every
    host in O(hosts) and writes the remediation report in O(dest) on the controller. A host without a result
    is listed with status C(not_run).
  - A relative O(dest) is taken from the directory C(ansible-playbook) runs in, also for a playbook inside an
    installed collection (C(ansible-playbook runcguard.seccomp.remediate)).
  - In check mode the report is the plan, written as C(<basename>-plan.<format>) so it never replaces a
    change report. The files are controller-side output, not host state, so they are written in check mode too
    and never count as a change.
  - The files are written with the fleet report's writer, under one lock, each atomically (temporary file in
    the same directory, then rename). This is an action plugin; nothing runs on the managed hosts.
extends_documentation_fragment:
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the plan report is written under its own name; nothing changes on any host.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Never reports a change; a new run rewrites the report with its own time stamp.
  platform:
    support: full
    platforms: posix
    details:
      - Runs on the controller only; no module is sent to the hosts.
options:
  hosts:
    description: Every host the report covers, normally C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  result_var:
    description: Host variable holding each host's remediation result.
    type: str
    default: remediate_host_result
  dest:
    description: Directory on the controller for the report; created when missing.
    type: path
    required: true
  basename:
    description: File name stem of the report files.
    type: str
    default: runcguard-remediate
  formats:
    description: Formats to write.
    type: list
    elements: str
    choices: [json, md]
    default: [json, md]
  mode:
    description: File mode of the report files.
    type: raw
    default: '0644'
  min_severity:
    description: The remediation threshold, recorded in the report.
    type: str
  policy:
    description: The remediation policy, recorded in the report.
    type: raw
  select:
    description: The C(remediate_select) expression, recorded in the report.
    type: str
'''

EXAMPLES = r'''
- name: Write the remediation report
  runcguard.seccomp.remediation_report:
    hosts: "{{ ansible_play_hosts_all }}"
    dest: reports
    min_severity: high
  run_once: true
'''

RETURN = r'''
files:
  description: Format to the absolute path of its file.
  returned: always
  type: dict
  sample: {json: /home/me/reports/runcguard-remediate.json, md: /home/me/reports/runcguard-remediate.md}
totals:
  description: Hosts per status.
  returned: always
  type: dict
  sample: {clean: 3, fixed: 1, not_run: 2}
generated_at:
  description: UTC time stamp written into the report.
  returned: always
  type: str
lines:
  description: Lines for the play's output (totals, hosts that are neither clean nor not run, the files).
  returned: always
  type: list
  elements: str
'''
