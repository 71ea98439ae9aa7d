# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An action plugin's argument spec, read from its documentation: one source for both.

``argument_spec(DOCUMENTATION)`` takes the ``options`` of the documentation (``plugins/modules/
<action>.py``) and of this collection's doc fragments it extends, and keeps what
``validate_argument_spec`` needs (type, elements, default, choices, required, suboptions).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib

import yaml

_COLLECTION = 'runcguard.seccomp.'
_FRAGMENTS = 'ansible_collections.runcguard.seccomp.plugins.doc_fragments.'
_KEYS = ('type', 'elements', 'default', 'choices', 'required', 'no_log', 'aliases')


def _fragment_options(name):
    if not name.startswith(_COLLECTION):
        raise ValueError('doc fragment %s: only this collection\'s fragments are read' % name)
    parts = name[len(_COLLECTION):].split('.')
    module = importlib.import_module(_FRAGMENTS + parts[0])
    text = getattr(module.ModuleDocFragment, parts[1].upper() if len(parts) > 1 else 'DOCUMENTATION')
    return yaml.safe_load(text).get('options') or {}


def _spec(options):
    spec = {}
    for name, option in options.items():
        entry = dict((key, option[key]) for key in _KEYS if key in option)
        if 'suboptions' in option:
            entry['options'] = _spec(option['suboptions'])
        spec[name] = entry
    return spec


def argument_spec(documentation):
    """The argument spec of the options documented in ``documentation`` (YAML text)."""
    doc = yaml.safe_load(documentation)
    options = {}
    for fragment in doc.get('extends_documentation_fragment') or []:
        options.update(_fragment_options(fragment))
    options.update(doc.get('options') or {})
    return _spec(options)
