# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hazard catalogue's text (title, description, severity, reference, sources, remediation) and
what each remediation strategy means. Pure data; ``_hazards.RULES`` attaches the behaviour and
``_hazards.CATALOGUE`` is what every other part reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_SPEC_SECCOMP = 'https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#seccomp'
# The catalogue text of every hazard; the Rule objects of _hazards.py give each its behaviour.
ENTRIES = {
    'notify-fcntl-hang': {
        'title': 'runc hangs when fcntl is under SCMP_ACT_NOTIFY',
        'description': ('runc 1.2.0-rc.1 and 1.2.0-rc.2 block forever in runc run / runc exec for a '
                        'container whose seccomp profile puts fcntl under SCMP_ACT_NOTIFY: the runc '
                        'init calls fcntl after loading the filter, before it has handed the '
                        'notify fd to the agent.'),
        'severity': 'critical',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': ['https://github.com/opencontainers/runc/pull/4337',
                    'https://github.com/rootless-containers/bypass4netns/issues/86'],
        'remediation': ['upgrade_runc', 'pin_runc', 'rewrite_profile'],
    },
    'notify-write-rejected': {
        'title': 'runc refuses SCMP_ACT_NOTIFY on write',
        'description': ('runc refuses a profile with write under SCMP_ACT_NOTIFY (it writes to '
                        'its sync pipe after loading the filter), so the container does not '
                        'start.'),
        'severity': 'high',
        'reference': 'https://github.com/opencontainers/runc/pull/2682',
        'sources': [],
        'remediation': ['rewrite_profile'],
    },
    'notify-default-action': {
        'title': 'SCMP_ACT_NOTIFY as defaultAction is rejected',
        'description': ('A profile whose defaultAction is SCMP_ACT_NOTIFY is rejected by runc; '
                        'containers using it do not start.'),
        'severity': 'high',
        'reference': 'https://github.com/opencontainers/runc/pull/2682',
        'sources': [_SPEC_SECCOMP],
        'remediation': ['edit_profile'],
    },
    'crun-notify-sendmsg-hang': {
        'title': 'crun < 1.6 hangs when sendmsg is under SCMP_ACT_NOTIFY',
        'description': ('crun older than 1.6 hangs starting a container whose profile puts '
                        'sendmsg under SCMP_ACT_NOTIFY: it sends the notify fd with sendmsg after '
                        'the filter is loaded.'),
        'severity': 'critical',
        'reference': 'https://github.com/containers/crun/issues/1002',
        'sources': ['https://github.com/containers/crun/pull/1004'],
        'remediation': ['upgrade_crun', 'rewrite_profile'],
    },
    'notify-no-listener-path': {
        'title': 'SCMP_ACT_NOTIFY rule without listenerPath',
        'description': ('A profile with SCMP_ACT_NOTIFY rules but no listenerPath gives the '
                        'runtime nowhere to send the notify fd; containers fail to start.'),
        'severity': 'high',
        'reference': _SPEC_SECCOMP,
        'sources': [],
        'remediation': ['fix_listener'],
    },
    'notify-listener-absent': {
        'title': 'listenerPath socket does not exist on the host',
        'description': ('The socket named by the listenerPath of the profile does not exist on the '
                        'host: the seccomp agent is not running and containers using the profile '
                        'fail to start.'),
        'severity': 'medium',
        'reference': _SPEC_SECCOMP,
        'sources': [],
        'remediation': ['fix_listener'],
    },
    'notify-unsupported': {
        'title': 'SCMP_ACT_NOTIFY not supported by this runtime, libseccomp or kernel',
        'description': ('SCMP_ACT_NOTIFY needs runc >= 1.1.0, libseccomp >= 2.5.0 and Linux >= '
                        '5.7; with less, containers using the profile fail to start.'),
        'severity': 'high',
        'reference': 'https://github.com/opencontainers/runc/releases/tag/v1.1.0',
        'sources': ['https://man7.org/linux/man-pages/man2/seccomp_unotify.2.html'],
        'remediation': ['upgrade_runc'],
    },
    'notify-runtime-sensitive': {
        'title': 'SCMP_ACT_NOTIFY on a syscall the runtime itself uses',
        'description': ('The profile puts a syscall the runtime itself makes around seccomp setup '
                        'under SCMP_ACT_NOTIFY: safe with current runtimes, but fragile if a '
                        'runtime calls it before handing over the notify fd.'),
        'severity': 'info',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': [],
        'remediation': ['rewrite_profile'],
    },
    # Observed by the notify_probe module (see _probe_findings).
    'notify-probe-hang': {
        'title': 'Runtime observed hanging with a syscall under SCMP_ACT_NOTIFY',
        'description': ('A canary container run by runcguard.seccomp.notify_probe hung with the '
                        'syscall under SCMP_ACT_NOTIFY: the runtime build really has the hang, '
                        'whatever its version says.'),
        'severity': 'critical',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': ['https://man7.org/linux/man-pages/man2/seccomp_unotify.2.html'],
        'remediation': ['upgrade_runc', 'pin_runc', 'rewrite_profile'],
    },
    # Decided per runtime binary, whatever the profiles (see _runc_advisory_findings).
    'runc-advisory': {
        'title': 'runc build with open security advisories',
        'description': ('The runc binary is a release the Go vulnerability database lists security '
                        'advisories for (container escapes among them), and its package changelog names '
                        'no backported fix for them.'),
        'severity': 'high',
        'reference': 'https://pkg.go.dev/vuln/list',
        'sources': ['https://github.com/opencontainers/runc/security/advisories'],
        'remediation': ['upgrade_runc'],
    },
    'notify-probe-disagrees': {
        'title': 'Observed runtime behaviour disagrees with its version data',
        'description': ('What the canary probe observed differs from what the version data of the '
                        'runtime predicts (a patched, mislabelled or wrapped binary).'),
        'severity': 'medium',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': [],
        'remediation': [],
    },
}

# What each remediation strategy means (docs/remediation.md has the details); SARIF help text.
STRATEGIES = {
    'upgrade_runc': 'Upgrade runc to a release without the problem (playbooks/remediate.yml, runc_pin_action=upgrade).',
    'pin_runc': 'Pin runc to a release without the problem (runcguard.seccomp.runc_pin); a release with open '
                'security advisories (1.1.13 has five) is refused unless runc_pin_accept_advisories lists each.',
    'rewrite_profile': 'Take the syscall out of the SCMP_ACT_NOTIFY rule and keep it allowed '
                       '(runcguard.seccomp.profile_fix / seccomp_profile).',
    'edit_profile': 'Edit the profile by hand: an allow/errno defaultAction and explicit NOTIFY rules.',
    'fix_listener': 'Set listenerPath to the seccomp agent socket and start the agent before containers.',
    'upgrade_crun': 'Upgrade crun to 1.6 or later.',
}
