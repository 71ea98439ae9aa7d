# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JMESPath policy queries (controller only): waiver ``when:``, ``audit_fail_query``, ``remediate_select``.

One home for compiling and evaluating the operator's expressions with the ``jmespath`` library:

- ``compile_query(expression, variable)`` parses once (memoised per process) and checks function
  names and argument counts up front, so a typo fails before any host is touched. Errors name the
  variable, the expression and the position of the problem.
- ``Query.search(data)`` evaluates; a runtime problem (``contains()`` given null, ...) raises
  ``QueryError`` naming the variable and expression.
- ``truthy(result)``: a result counts when it is not null, false, 0, or an empty string, list or
  object (JMESPath's own falsiness plus 0, so ``length(...)`` reads as a count).

jmespath's functions check ``type(x).__name__``, so Ansible's tagged strings and lazy containers
fail their type checks; ``search`` then evaluates once more on a ``plain()`` JSON copy. Field
access and comparisons work on those subclasses as they are, so plain data, the common case,
is never copied.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from collections.abc import Mapping

try:
    import jmespath
    from jmespath import exceptions as jmespath_errors
    from jmespath.functions import Functions
except ImportError:  # pragma: no cover - reported when an expression is used
    jmespath = None

MISSING_LIBRARY = ('the jmespath Python library is needed on the controller for JMESPath expressions '
                   '(pip install jmespath; it is in the collection\'s requirements.txt)')
DESCRIBE_LIMIT = 2000
_CACHE = {}
_CACHE_LIMIT = 256


class QueryError(ValueError):
    """An expression cannot be compiled or evaluated; the message says which, where and why."""


def _caret(expression, position):
    return '\n  %s\n  %s^' % (expression, ' ' * max(0, min(position, len(expression))))


def _syntax_error(variable, expression, exc):
    position = getattr(exc, 'lex_position', None)
    if isinstance(exc, jmespath_errors.EmptyExpressionError):
        what = 'the expression is empty'
    elif isinstance(exc, jmespath_errors.LexerError):
        what = getattr(exc, 'message', None) or 'cannot read the expression'
    elif isinstance(exc, jmespath_errors.IncompleteExpressionError):
        what = 'the expression ends too early'
    else:
        token = getattr(exc, 'token_value', None)
        what = 'unexpected %r' % token if token not in (None, '') else 'syntax error'
    where = ' at position %d' % position if isinstance(position, int) else ''
    text = '%s: invalid JMESPath expression %s: %s%s' % (variable, json.dumps(expression), what, where)
    return QueryError(text + (_caret(expression, position) if isinstance(position, int) else ''))


def _functions_used(node):
    """(name, argument count) of every function call in a parsed expression."""
    stack, out = [node], []
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        if current.get('type') == 'function_expression':
            out.append((current.get('value'), len(current.get('children') or ())))
        stack.extend(current.get('children') or ())
    return out


def _check_functions(variable, expression, parsed):
    table = Functions.FUNCTION_TABLE
    for name, count in _functions_used(parsed):
        position = expression.find('%s(' % name)
        where = ' at position %d' % position if position >= 0 else ''
        caret = _caret(expression, position) if position >= 0 else ''
        if name not in table:
            raise QueryError('%s: invalid JMESPath expression %s: unknown function %s()%s (known: %s)%s'
                             % (variable, json.dumps(expression), name, where, ', '.join(sorted(table)), caret))
        signature = table[name]['signature']
        variadic = bool(signature) and bool(signature[-1].get('variadic'))
        if count < len(signature) or (count > len(signature) and not variadic):
            wanted = '%s%d' % ('at least ' if variadic else '', len(signature))
            raise QueryError('%s: invalid JMESPath expression %s: %s() takes %s argument(s), got %d%s%s'
                             % (variable, json.dumps(expression), name, wanted, count, where, caret))


class Query(object):
    """A compiled expression and the variable it came from (for error messages)."""

    __slots__ = ('variable', 'expression', '_parsed')

    def __init__(self, variable, expression, parsed):
        self.variable = variable
        self.expression = expression
        self._parsed = parsed

    def search(self, data, what=None):
        """Evaluate on ``data``; ``what`` names the data in an error (a finding key, ...)."""
        try:
            return self._parsed.search(data)
        except jmespath_errors.JMESPathError:
            pass  # perhaps only Ansible's str/list/dict subclasses failing a function's type check
        try:
            return self._parsed.search(plain(data))
        except jmespath_errors.JMESPathError as exc:
            raise QueryError('%s: JMESPath expression %s failed%s: %s'
                             % (self.variable, json.dumps(self.expression),
                                ' on %s' % what if what else '', str(exc).replace('\n', ' ')))

    def matches(self, data, what=None):
        return truthy(self.search(data, what))

    def __repr__(self):
        return 'Query(%r, %r)' % (self.variable, self.expression)


def compile_query(expression, variable):
    """Compile ``expression`` (str) once; raise QueryError naming ``variable`` when it is unusable."""
    if not isinstance(expression, str):
        raise QueryError('%s: a JMESPath expression must be a string, got %s' % (variable, type(expression).__name__))
    expression = str(expression)  # a plain str, not a tagged Ansible string
    key = (variable, expression)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    if jmespath is None:
        raise QueryError('%s: %s' % (variable, MISSING_LIBRARY))
    if not expression.strip():
        raise QueryError('%s: invalid JMESPath expression %s: the expression is empty'
                         % (variable, json.dumps(expression)))
    try:
        parsed = jmespath.compile(expression)
    except jmespath_errors.JMESPathError as exc:
        raise _syntax_error(variable, expression, exc)
    _check_functions(variable, expression, parsed.parsed)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    query = _CACHE[key] = Query(variable, expression, parsed)
    return query


def optional_query(expression, variable):
    """compile_query, or None for an unset option (None or an empty/blank string)."""
    if expression is None or (isinstance(expression, str) and not expression.strip()):
        return None
    return compile_query(expression, variable)


def truthy(result):
    """Does a result count as "yes"? Not null, false, 0, '', [] or {}."""
    if result is None or result is False:
        return False
    if isinstance(result, bool):
        return True
    if isinstance(result, (int, float)):
        return result != 0
    if isinstance(result, (str, list, tuple, Mapping)):
        return len(result) > 0
    return True


def plain(value):
    """A copy of ``value`` made of dict, list, str, int, float, bool and None only."""
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is str or kind is int or kind is float:
        return value
    if isinstance(value, Mapping):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def describe(result, limit=DESCRIBE_LIMIT):
    """Compact JSON of a result for a message, cut at ``limit`` characters."""
    text = json.dumps(result, sort_keys=True, separators=(', ', ': '), default=str, ensure_ascii=True)
    if len(text) > limit:
        text = '%s... (%d characters in all)' % (text[:limit], len(text))
    return text
