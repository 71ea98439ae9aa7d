# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: JSON (the versioned layout of docs/report-schema.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

FORMAT = 'json'
EXTENSION = 'json'
DEFAULT = True


def render(fleet):
    return json.dumps(fleet, indent=2, sort_keys=True, ensure_ascii=False, default=str) + '\n'


def validate(text, fleet):
    json.loads(text)
