# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one canary start's outcome is (ok, hang, error, unsupported) from what the runtime did and
said, the runtime's own words from its log lines, and which failures are worth one more start."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

MESSAGE_LIMIT = 2000
SIGNAL_RETURNS = ('rt_sigreturn', 'sigreturn', 'restart_syscall')


_UNSUPPORTED = re.compile(
    r'(notify|SCMP_ACT_NOTIFY)[^\n]*(not supported|unsupported|requires|API level|unknown action|invalid action)'
    r'|(unknown|invalid|unrecognized) (seccomp )?action[^\n]*NOTIFY'
    r'|seccomp notify unsupported', re.IGNORECASE)
_LOGRUS_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')
_JSON_LOG = re.compile(r'^\s*\{.*"msg"\s*:')


def runtime_message(stderr):
    """The runtime's own words from its stderr (logrus text/JSON lines unwrapped), bounded."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode('utf-8', 'replace')
    lines = []
    for line in (stderr or '').splitlines():
        line = line.strip()
        if not line:
            continue
        if _JSON_LOG.match(line):
            try:
                line = json.loads(line).get('msg') or line
            except ValueError:
                pass
        else:
            match = _LOGRUS_MSG.search(line)
            if match:
                line = match.group(1).replace('\\"', '"').replace('\\\\', '\\')
        lines.append(line)
    return '\n'.join(lines)[:MESSAGE_LIMIT]


def classify(timed_out, returncode, stderr, agent_connected, status=None, stuck=None):
    """(outcome, message) of one probe.

    `status` is the container state the runtime reports after `run` returned (None when it kept
    no state): a container that is not `stopped` did not really run, whatever the exit code says.
    `stuck` describes a deadlock seen while the runtime ran (see Canary._deadlock).
    """
    if stuck:
        return 'hang', stuck
    if timed_out:
        return 'hang', 'the runtime did not return within the timeout (agent %s)' % (
            'connected' if agent_connected else 'never connected')
    message = runtime_message(stderr)
    if returncode != 0:
        if _UNSUPPORTED.search(message):
            return 'unsupported', message
        return 'error', message or 'the runtime exited with status %s and printed nothing' % returncode
    if status is not None and status != 'stopped':
        return 'hang', 'the runtime exited 0 but the container is still %r, not stopped' % status
    if not agent_connected:
        return 'error', 'the runtime exited 0 but never connected to the seccomp agent (listenerPath ignored?)'
    return 'ok', message


# A probe left out because the total time limit ran short (the audit_host action reads it too).
OUT_OF_TIME = 'not probed: the total time limit (total_timeout) left less than one probe timeout'


# runc 1.2 pre-releases sometimes fail to exec their own init through a reused fd, whatever the
# profile (opencontainers/runc#4294): that says nothing about NOTIFY, so such a start is tried again.
# Measured here: 4 starts in 60 of rc.2 lost to it on a quiet machine, more under load; one retry
# still lost a CI run, four starts in all make a lost probe about one in 40,000 at that rate.
START_ATTEMPTS = 4
_TRANSIENT_START = re.compile(r'unable to start init: fork/exec /proc/self/fd/\d+: permission denied')


def transient_start_failure(result):
    """Did this start fail with runc's transient init race (worth another start)?"""
    return result.get('outcome') == 'error' and bool(_TRANSIENT_START.search(result.get('message') or ''))
