# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shape check of ``ansible_facts.runcguard`` before the controller evaluates it.

Host facts are untrusted on the controller (a compromised host, a hand-edited fact cache): a wrong
type must fail that host with a message naming the field, never raise AttributeError deep inside
the evaluation. Pure stdlib, Python 3.9+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_TEXT = 'text'
_SCALAR = 'scalar'  # text or number (kernel versions, YAML may read 6.1 as a float)

# field -> expected kind; every field may also be null (missing fields are null)
_RUNTIME = {
    'name': _TEXT, 'path': _TEXT, 'realpath': _TEXT, 'version': _TEXT, 'commit': _TEXT, 'libseccomp': _TEXT,
    'error': _TEXT, 'dev': bool, 'used_by': [_TEXT], 'paths': [_TEXT], 'package': dict,
}
_ORIGIN = {'engine': _TEXT, 'setting': _TEXT}
_PROFILE = {
    'path': _TEXT, 'realpath': _TEXT, 'format': _TEXT, 'default_action': _TEXT, 'listener_path': _TEXT,
    'error': _TEXT, 'warning': _TEXT, 'listener_exists': bool, 'notify_syscalls': [_TEXT], 'architectures': [_TEXT],
    'duplicate_keys': [_TEXT], 'notify_sets': {'literal': [_TEXT], 'expanded': [_TEXT]}, 'origin': [_ORIGIN],
    'bundle': {'id': _TEXT, 'namespace': _TEXT, 'engine': _TEXT}, 'notify': [dict],
}
_FACTS = {'arch': _TEXT, 'kernel': _SCALAR, 'libseccomp': _TEXT, 'runtimes': list, 'profiles': list,
          'engines': dict, 'scan': dict}

_NAMES = {str: 'a string', bool: 'true or false', dict: 'an object', list: 'a list'}


class FactsError(ValueError):
    """The facts do not have the documented shape; the message names the first wrong field."""


def _kind_name(value):
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    return _NAMES.get(type(value), 'a %s' % type(value).__name__)


def _check(value, spec, where):
    if value is None:
        return
    if spec == _TEXT:
        ok = isinstance(value, str)
        wanted = 'a string'
    elif spec == _SCALAR:
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        wanted = 'a string'
    elif isinstance(spec, type):
        ok = isinstance(value, spec)
        wanted = _NAMES[spec]
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise FactsError('%s must be a list, got %s' % (where, _kind_name(value)))
        for index, item in enumerate(value):
            if item is None:
                raise FactsError('%s[%d] must not be null' % (where, index))
            _check(item, spec[0], '%s[%d]' % (where, index))
        return
    else:  # a dict spec: an object with these fields
        if not isinstance(value, dict):
            raise FactsError('%s must be an object, got %s' % (where, _kind_name(value)))
        for key, sub in spec.items():
            _check(value.get(key), sub, '%s.%s' % (where, key))
        return
    if not ok:
        raise FactsError('%s must be %s or null, got %s' % (where, wanted, _kind_name(value)))


def check_facts(facts):
    """Raise FactsError unless ``facts`` (ansible_facts.runcguard) has the documented shape.

    Entries of ``runtimes``/``profiles`` that are not objects are left for the evaluation to skip
    (nothing can be read from them); the fields of those that are objects must have their types.
    """
    if facts is None:
        raise FactsError('facts must be an object, got null')
    _check(facts, _FACTS, 'facts')
    for key, spec in (('runtimes', _RUNTIME), ('profiles', _PROFILE)):
        for index, entry in enumerate(facts.get(key) or ()):
            if isinstance(entry, dict):
                _check(entry, spec, 'facts.%s[%d]' % (key, index))
