# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Minimal TOML reader for targets without `tomllib` (Python < 3.11).

`loads()` uses `tomllib` when it exists. The fallback covers what engine configs use (tables,
arrays of tables, dotted/quoted keys, all string kinds, integers, floats, booleans, arrays,
inline tables) and raises TomlError for anything else (dates/times included): a config it cannot
read exactly becomes an error entry, never a guess.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

try:
    import tomllib as _tomllib
except ImportError:  # Python < 3.11
    _tomllib = None


class TomlError(ValueError):
    pass


def loads(text):
    if _tomllib is not None:
        try:
            return _tomllib.loads(text)
        except _tomllib.TOMLDecodeError as exc:
            raise TomlError(str(exc))
    return loads_fallback(text)


def loads_fallback(text):
    return _Parser(text).parse()


_BARE_KEY = re.compile(r'[A-Za-z0-9_-]+')
_INT = re.compile(r'[+-]?(0|[1-9](_?[0-9])*)$')
_PREFIXED = {'0x': (16, re.compile(r'0x[0-9A-Fa-f](_?[0-9A-Fa-f])*$')),
             '0o': (8, re.compile(r'0o[0-7](_?[0-7])*$')),
             '0b': (2, re.compile(r'0b[01](_?[01])*$'))}
_FLOAT = re.compile(r'[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$')
_SPECIAL_FLOAT = {'inf': float('inf'), '+inf': float('inf'), '-inf': float('-inf'),
                  'nan': float('nan'), '+nan': float('nan'), '-nan': float('nan')}
_ESCAPES = {'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', '"': '"', '\\': '\\'}
_VALUE_END = ' \t\r\n,]}#'


class _Parser(object):

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.root = {}
        self.frozen = set()  # ids of inline tables / static arrays that must not be extended
        self.defined = set()  # table paths opened with [header]

    # -- helpers -----------------------------------------------------------------------------
    def error(self, msg):
        line = self.s.count('\n', 0, self.i) + 1
        raise TomlError('%s (line %d)' % (msg, line))

    def peek(self, n=1):
        return self.s[self.i:self.i + n]

    def skip_ws(self):
        while self.i < len(self.s) and self.s[self.i] in ' \t':
            self.i += 1

    def skip_comment(self):
        if self.peek() == '#':
            end = self.s.find('\n', self.i)
            self.i = len(self.s) if end < 0 else end

    def skip_ws_nl(self):
        # whitespace, newlines and comments (inside arrays)
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in ' \t\r\n':
                self.i += 1
            elif c == '#':
                self.skip_comment()
            else:
                break

    def end_of_line(self):
        self.skip_ws()
        self.skip_comment()
        if self.peek(2) == '\r\n':
            self.i += 2
        elif self.peek() == '\n':
            self.i += 1
        elif self.i < len(self.s):
            self.error('expected end of line, found %r' % self.peek())

    # -- document ----------------------------------------------------------------------------
    def parse(self):
        current = self.root
        while True:
            self.skip_ws_nl()
            if self.i >= len(self.s):
                return self.root
            if self.peek(2) == '[[':
                self.i += 2
                path = self.key_path(']]')
                current = self.array_table(path)
            elif self.peek() == '[':
                self.i += 1
                path = self.key_path(']')
                current = self.table(path)
            else:
                self.key_value(current)
            self.end_of_line()

    def key_path(self, closing):
        path = self.key()
        self.skip_ws()
        if not self.s.startswith(closing, self.i):
            self.error('expected %r to close table header' % closing)
        self.i += len(closing)
        return path

    def key(self):
        parts = []
        while True:
            self.skip_ws()
            c = self.peek()
            if c == '"':
                parts.append(self.basic_string())
            elif c == "'":
                parts.append(self.literal_string())
            else:
                m = _BARE_KEY.match(self.s, self.i)
                if not m:
                    self.error('invalid key')
                parts.append(m.group(0))
                self.i = m.end()
            self.skip_ws()
            if self.peek() != '.':
                return parts
            self.i += 1

    def descend(self, table, part):
        child = table.setdefault(part, {})
        if isinstance(child, list) and child and isinstance(child[-1], dict) and id(child) not in self.frozen:
            child = child[-1]
        if not isinstance(child, dict) or id(child) in self.frozen:
            self.error('key %r is already defined as a value' % part)
        return child

    def table(self, path):
        if tuple(path) in self.defined:
            self.error('table [%s] defined twice' % '.'.join(path))
        self.defined.add(tuple(path))
        t = self.root
        for part in path:
            t = self.descend(t, part)
        return t

    def array_table(self, path):
        t = self.root
        for part in path[:-1]:
            t = self.descend(t, part)
        arr = t.setdefault(path[-1], [])
        if not isinstance(arr, list) or id(arr) in self.frozen:
            self.error('key %r is not an array of tables' % path[-1])
        new = {}
        arr.append(new)
        # sub-tables of the previous element may be defined again for this element
        prefix = tuple(path)
        self.defined = set(p for p in self.defined if p[:len(prefix)] != prefix or len(p) == len(prefix))
        return new

    def key_value(self, table):
        path = self.key()
        if self.peek() != '=':
            self.error('expected "=" after key')
        self.i += 1
        self.skip_ws()
        value = self.value()
        t = table
        for part in path[:-1]:
            t = self.descend(t, part)
        if path[-1] in t:
            self.error('key %r defined twice' % path[-1])
        t[path[-1]] = value

    # -- values ------------------------------------------------------------------------------
    def value(self):
        c = self.peek()
        if self.s.startswith('"""', self.i):
            return self.ml_basic_string()
        if self.s.startswith("'''", self.i):
            return self.ml_literal_string()
        if c == '"':
            return self.basic_string()
        if c == "'":
            return self.literal_string()
        if c == '[':
            return self.array()
        if c == '{':
            return self.inline_table()
        return self.scalar()

    def scalar(self):
        start = self.i
        while self.i < len(self.s) and self.s[self.i] not in _VALUE_END:
            self.i += 1
        tok = self.s[start:self.i]
        if tok == 'true':
            return True
        if tok == 'false':
            return False
        if tok in _SPECIAL_FLOAT:
            return _SPECIAL_FLOAT[tok]
        if _INT.match(tok):
            return int(tok.replace('_', ''))
        base = _PREFIXED.get(tok[:2])
        if base and base[1].match(tok):
            return int(tok[2:].replace('_', ''), base[0])
        if _FLOAT.match(tok):
            return float(tok.replace('_', ''))
        if re.match(r'\d{4}-\d{2}-\d{2}|\d{2}:\d{2}', tok):
            self.i = start
            self.error('dates and times are not supported by this reader')
        self.i = start
        self.error('invalid value %r' % tok[:40])

    def array(self):
        self.i += 1
        out = []
        while True:
            self.skip_ws_nl()
            if self.peek() == ']':
                self.i += 1
                break
            if self.i >= len(self.s):
                self.error('unterminated array')
            out.append(self.value())
            self.skip_ws_nl()
            if self.peek() == ',':
                self.i += 1
            elif self.peek() != ']':
                self.error('expected "," or "]" in array')
        self.frozen.add(id(out))
        return out

    def inline_table(self):
        self.i += 1
        out = {}
        self.skip_ws()
        if self.peek() == '}':
            self.i += 1
        else:
            while True:
                self.key_value(out)
                self.skip_ws()
                if self.peek() == ',':
                    self.i += 1
                    continue
                if self.peek() == '}':
                    self.i += 1
                    break
                self.error('expected "," or "}" in inline table')
        self.frozen.add(id(out))
        return out

    def escape(self):
        c = self.peek()
        if c in _ESCAPES:
            self.i += 1
            return _ESCAPES[c]
        if c in ('u', 'U'):
            n = 4 if c == 'u' else 8
            digits = self.s[self.i + 1:self.i + 1 + n]
            if len(digits) != n or not re.match(r'[0-9A-Fa-f]+$', digits):
                self.error('invalid unicode escape')
            self.i += 1 + n
            try:
                return chr(int(digits, 16))
            except ValueError:
                self.error('invalid unicode escape')
        self.error('invalid escape "\\%s"' % c)

    def basic_string(self):
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                self.error('unterminated string')
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return ''.join(out)
            if c == '\n':
                self.error('newline in single-line string')
            self.i += 1
            out.append(self.escape() if c == '\\' else c)

    def literal_string(self):
        end = self.s.find("'", self.i + 1)
        nl = self.s.find('\n', self.i + 1)
        if end < 0 or (0 <= nl < end):
            self.error('unterminated literal string')
        text = self.s[self.i + 1:end]
        self.i = end + 1
        return text

    def ml_basic_string(self):
        self.i += 3
        if self.peek() == '\n':
            self.i += 1
        elif self.peek(2) == '\r\n':
            self.i += 2
        out = []
        while True:
            if self.i >= len(self.s):
                self.error('unterminated multi-line string')
            if self.s.startswith('"""', self.i):
                # up to two quotes may sit right before the closing delimiter
                extra = 0
                while extra < 2 and self.s.startswith('"', self.i + 3 + extra):
                    extra += 1
                out.append('"' * extra)
                self.i += 3 + extra
                return ''.join(out)
            c = self.s[self.i]
            self.i += 1
            if c != '\\':
                out.append(c)
                continue
            rest = re.match(r'[ \t]*\r?\n', self.s[self.i:])
            if rest:  # line-ending backslash: drop whitespace up to the next text
                self.i += rest.end()
                while self.i < len(self.s) and self.s[self.i] in ' \t\r\n':
                    self.i += 1
            else:
                out.append(self.escape())

    def ml_literal_string(self):
        self.i += 3
        if self.peek() == '\n':
            self.i += 1
        elif self.peek(2) == '\r\n':
            self.i += 2
        end = self.s.find("'''", self.i)
        if end < 0:
            self.error('unterminated multi-line literal string')
        extra = 0  # up to two quotes may sit right before the closing delimiter
        while extra < 2 and self.s.startswith("'", end + 3 + extra):
            extra += 1
        text = self.s[self.i:end + extra]
        self.i = end + 3 + extra
        return text
