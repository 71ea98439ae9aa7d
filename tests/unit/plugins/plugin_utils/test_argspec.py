# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action argument specs come from their documentation (and this collection's doc fragments)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.modules import audit_host, fleet_report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._argspec import argument_spec


def test_options_of_the_doc_and_its_fragments():
    spec = argument_spec(audit_host.DOCUMENTATION)
    assert spec['facts_source'] == {'type': 'str', 'choices': ['gather', 'cached'], 'default': 'gather'}
    assert spec['waivers'] == {'type': 'list', 'elements': 'dict', 'default': []}
    # the scan options come from the _scan fragment, with the defaults gather() uses
    assert spec['command_timeout'] == {'type': 'int', 'default': _discovery.COMMAND_TIMEOUT}
    assert spec['max_profile_size'] == {'type': 'int', 'default': _discovery.MAX_PROFILE_SIZE}
    assert spec['profile_paths'] == {'type': 'list', 'elements': 'raw', 'default': []}
    assert 'description' not in spec['discover']


def test_required_and_suboptions():
    spec = argument_spec(fleet_report.DOCUMENTATION)
    assert spec['hosts'] == {'type': 'list', 'elements': 'str', 'required': True}
    doc = """
options:
  item:
    description: x
    type: dict
    suboptions:
      name: {description: y, type: str, required: true}
"""
    assert argument_spec(doc) == {'item': {'type': 'dict', 'options': {'name': {'type': 'str', 'required': True}}}}


def test_only_this_collections_fragments():
    with pytest.raises(ValueError, match='community.general.foo'):
        argument_spec('extends_documentation_fragment: [community.general.foo]\noptions: {}\n')
