# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: md_text (thin wrapper over plugin_utils._render_md.md, the fleet report's escaping)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._render_md import md


def md_text(value):
    return md(value)


class FilterModule(object):
    def filters(self):
        return {'md_text': md_text}
