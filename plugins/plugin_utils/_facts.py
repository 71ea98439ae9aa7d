# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shape check of ``ansible_facts.runcguard`` before the controller evaluates it.

Host facts are untrusted on the controller (a compromised host, a hand-edited fact cache): a wrong
type must fail that host with a message naming the field, never raise AttributeError deep inside
the evaluation. Pure stdlib, Python 3.9+.

``check_tree`` bounds any host data (facts, the host lines of a partial report): nesting depth and
lone UTF-16 surrogates, both of which would make the controller's encoders and renderers fail for
the whole run instead of that one host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_TEXT = 'text'
_SCALAR = 'scalar'  # text or number (kernel versions, YAML may read 6.1 as a float)
TEXT = _TEXT  # for the specs of other host data (check_shape)

# field -> expected kind; every field may also be null (missing fields are null)
_RUNTIME = {
    'name': _TEXT, 'path': _TEXT, 'realpath': _TEXT, 'version': _TEXT, 'commit': _TEXT, 'libseccomp': _TEXT,
    'error': _TEXT, 'dev': bool, 'used_by': [_TEXT], 'paths': [_TEXT], 'package': dict,
    'owner': {'name': _TEXT, 'uid': int}, 'users': [_TEXT],
}
_ORIGIN = {'engine': _TEXT, 'setting': _TEXT}
_PROFILE = {
    'path': _TEXT, 'realpath': _TEXT, 'format': _TEXT, 'default_action': _TEXT, 'listener_path': _TEXT,
    'error': _TEXT, 'warning': _TEXT, 'listener_exists': bool, 'notify_syscalls': [_TEXT], 'architectures': [_TEXT],
    'duplicate_keys': [_TEXT], 'notify_sets': {'literal': [_TEXT], 'expanded': [_TEXT]}, 'origin': [_ORIGIN],
    'bundle': {'id': _TEXT, 'namespace': _TEXT, 'engine': _TEXT}, 'notify': [dict],
    'owner': {'name': _TEXT, 'uid': int},
}
_FACTS = {'arch': _TEXT, 'kernel': _SCALAR, 'libseccomp': _TEXT, 'runtimes': list, 'profiles': list,
          'engines': dict, 'scan': dict, 'users': [dict], 'agents': [dict]}

# Host data nests a few levels (facts.profiles[0].notify[0].args[0].value; a report host line
# host.findings[0].waiver.when): deeper is crafted, and nesting a few hundred deep makes the
# controller's recursive encoders and renderers fail for every host of the run.
MAX_DEPTH = 16

_NAMES = {str: 'a string', bool: 'true or false', dict: 'an object', list: 'a list'}


class FactsError(ValueError):
    """The facts do not have the documented shape; the message names the first wrong field."""


def _kind_name(value):
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    for kind in (str, dict, list):  # subclasses too (Ansible's tagged strings)
        if isinstance(value, kind):
            return _NAMES[kind]
    return 'a %s' % type(value).__name__


def _where(path):
    """Render a path built as nested (parent, key) pairs; only ever called for an error message."""
    parts = []
    while isinstance(path, tuple):
        path, key = path
        parts.append('[%d]' % key if isinstance(key, int) else '.' + key)
    return path + ''.join(reversed(parts))


def _check(value, spec, path):
    # Called for every field of every host: the path is a cheap tuple and becomes text only when
    # a field is wrong (formatting it for every field made the check cost more than the evaluation).
    if value is None:
        return
    if spec == _TEXT:
        if isinstance(value, str):
            return
        wanted = 'a string'
    elif spec == _SCALAR:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return
        wanted = 'a string'
    elif isinstance(spec, type):
        if isinstance(value, spec):
            return
        wanted = _NAMES[spec]
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise FactsError('%s must be a list, got %s' % (_where(path), _kind_name(value)))
        item_spec = spec[0]
        for index, item in enumerate(value):
            if item is None:
                raise FactsError('%s must not be null' % _where((path, index)))
            if not (item_spec is _TEXT and isinstance(item, str)):
                _check(item, item_spec, (path, index))
        return
    else:  # a dict spec: an object with these fields
        if not isinstance(value, dict):
            raise FactsError('%s must be an object, got %s' % (_where(path), _kind_name(value)))
        for key, sub in spec.items():
            field = value.get(key)
            # most fields are null or plain strings: settle those without a call
            if field is not None and not (sub is _TEXT and isinstance(field, str)):
                _check(field, sub, (path, key))
        return
    raise FactsError('%s must be %s or null, got %s' % (_where(path), wanted, _kind_name(value)))


def _bad_text(text):
    """True for a string that is not Unicode text UTF-8 can write (a lone surrogate, from ``"\\ud800"``)."""
    if text.isascii():
        return False
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return True
    return False


def check_tree(value, where='facts', max_depth=MAX_DEPTH):
    """Raise FactsError when ``value`` (decoded JSON) nests objects/lists more than ``max_depth``
    levels deep or holds a key or string with a lone surrogate. Iterative: any depth is safe to check."""
    if isinstance(value, str):
        if _bad_text(value):
            raise FactsError('%s holds a lone UTF-16 surrogate (not Unicode text)' % where)
        return
    if not isinstance(value, (dict, list)):
        return
    stack = [(value, where, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, path, depth = pop()
        if depth > max_depth:
            raise FactsError('%s is nested more than %d objects/lists deep: malformed' % (_where(path), max_depth))
        for key, item in (node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(key, str) and not key.isascii() and _bad_text(key):
                raise FactsError('%s has a key with a lone UTF-16 surrogate (not Unicode text)' % _where(path))
            if isinstance(item, str):
                if not item.isascii() and _bad_text(item):
                    raise FactsError('%s holds a lone UTF-16 surrogate (not Unicode text)'
                                     % _where((path, key if isinstance(key, (int, str)) else str(key))))
            elif isinstance(item, (dict, list)):
                push((item, (path, key if isinstance(key, (int, str)) else str(key)), depth + 1))


def check_shape(value, spec, where):
    """Raise FactsError unless ``value`` has the shape ``spec`` (this module's spec language: _TEXT,
    a type, [item spec], {field: spec}); the shape check of every kind of host data."""
    _check(value, spec, where)


def check_facts(facts):
    """Raise FactsError unless ``facts`` (ansible_facts.runcguard) has the documented shape.

    Nesting deeper than MAX_DEPTH and lone surrogates anywhere are refused too (check_tree).
    Entries of ``runtimes``/``profiles`` that are not objects are left for the evaluation to skip
    (nothing can be read from them); the fields of those that are objects must have their types.
    """
    if facts is None:
        raise FactsError('facts must be an object, got null')
    check_tree(facts, 'facts')
    _check(facts, _FACTS, 'facts')
    for key, spec in (('runtimes', _RUNTIME), ('profiles', _PROFILE)):
        for index, entry in enumerate(facts.get(key) or ()):
            if isinstance(entry, dict):
                _check(entry, spec, (('facts', key), index))
