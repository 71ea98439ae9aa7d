# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private doc fragment: one wording for the attributes every module of this collection states.
# Modules add `support:` (full / partial / none / N/A) and, where support is partial, `details:`.

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Use as `runcguard.seccomp._attributes` (check_mode, diff_mode, idempotent, platform).
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description:
      - Can run in C(check_mode) and return the changed status it would report, without modifying the target.
  diff_mode:
    description:
      - Returns details on what has changed (or would change in C(check_mode)) when run in diff mode.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change
        (outside of C(check_mode)).
  platform:
    description: Target operating system family the module can run on.
    platforms: posix
'''

    # Use as `runcguard.seccomp._attributes.facts` in addition to the default fragment.
    FACTS = r'''
options: {}
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
'''

    # Use as `runcguard.seccomp._attributes.info_module` for read-only modules.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
'''
