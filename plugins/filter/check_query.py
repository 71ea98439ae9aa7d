# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: check_query (thin wrapper over plugin_utils._query.compile_query)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import QueryError, optional_query


def check_query(expression, name='expression'):
    if not is_string(name):
        raise AnsibleFilterError('runcguard.seccomp.check_query: name must be a string, got %s' % type(name).__name__)
    try:
        query = optional_query(expression, str(name))
    except QueryError as exc:
        raise AnsibleFilterError('runcguard.seccomp.check_query: %s' % exc)
    return None if query is None else query.expression


class FilterModule(object):
    def filters(self):
        return {'check_query': check_query}
