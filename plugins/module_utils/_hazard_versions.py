# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The versions the hazard rules turn on, defined once for host and controller code.

The rules themselves (catalogue, verdicts, evaluation) are controller code in
``plugin_utils/_hazards.py``; pin planning on the host (``_pins``) needs the same releases, so
they live here. Pure data, stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# runc releases that hang with fcntl under NOTIFY (opencontainers/runc#4328, fixed by #4337 in
# 1.2.0-rc.3); the first final release after them.
FCNTL_HANG_RELEASES = ('1.2.0-rc.1', '1.2.0-rc.2')
FCNTL_HANG_FIRST_FIXED = '1.2.0'
# Dev builds whose base version is one of these may or may not carry the bug (main between
# v1.1.0 and the fix in rc.3): their commit decides (_runc_commits), their number cannot.
FCNTL_HANG_DEV_BASES = ('1.1.0', '1.2.0-rc.1', '1.2.0-rc.2')
# Every commit whose VERSION reads 1.2.0-rc.1+dev carries the regression without its revert.
FCNTL_HANG_DEV_ALWAYS = '1.2.0-rc.1'
RUNC_NOTIFY_SINCE = '1.1.0'
CRUN_SENDMSG_FIXED = '1.6.0'
LIBSECCOMP_NOTIFY_SINCE = '2.5.0'
KERNEL_NOTIFY_SINCE = (5, 7)
