# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: JSON (the versioned layout of docs/report-schema.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import UNSAFE_CHARS

FORMAT = 'json'
EXTENSION = 'json'
DEFAULT = True


def render(fleet):
    text = json.dumps(fleet, indent=2, sort_keys=True, ensure_ascii=False, default=str) + '\n'
    # json.dumps escapes C0 controls; C1 and bidi controls become \\uXXXX escapes too (they can only
    # stand inside strings, and a JSON reader decodes them back to the same text)
    return UNSAFE_CHARS.sub(lambda m: '\\u%04x' % ord(m.group()), text)


def validate(text, fleet):
    json.loads(text)
