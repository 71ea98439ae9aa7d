# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""In-place TOML edits that keep every other byte: set one string key, add or drop one array item.

Pure stdlib, Python 3.9+. ``Document(text)`` reads the text with the collection's TOML reader
(``_toml``) and also records where each table header and each ``key = value`` of the document
sits. Edits splice new text into those spans only, so comments, key order, indentation, CRLF, a
byte order mark, non-ASCII text and a missing final newline all stay. After each edit the result
is parsed again and compared with the expected document (``EditError`` when they differ).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import re

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import toml as _toml

BOM = u'\ufeff'
_BARE = re.compile(r'^[A-Za-z0-9_-]+$')


class EditError(ValueError):
    """The text cannot be edited in place; the message says why."""


def quote_key(part):
    return part if _BARE.match(part) else json.dumps(part)


def quote_string(value):
    """A TOML basic string (JSON's escapes are valid TOML escapes; non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False)


class _Spans(_toml._Parser):
    """The reader, also noting headers and key/values of the document (not of inline tables)."""

    def parse_spans(self):
        self.headers = []   # (path tuple, start, end of header line incl. newline)
        self.keyvals = []   # (full path, header index or -1, line start, key start, value start, value end)
        current, header_path, header_index = self.root, (), -1
        while True:
            self.skip_ws_nl()
            if self.i >= len(self.s):
                return self.root
            start = self.i
            if self.peek(2) == '[[':
                self.i += 2
                path = self.key_path(']]')
                current = self.array_table(path)
                header_path, header_index = None, len(self.headers)  # keys below are not addressable
                self.end_of_line()
                self.headers.append((None, start, self.i))
            elif self.peek() == '[':
                self.i += 1
                path = self.key_path(']')
                current = self.table(path)
                header_path, header_index = tuple(path), len(self.headers)
                self.end_of_line()
                self.headers.append((header_path, start, self.i))
            else:
                line_start = self.s.rfind('\n', 0, start) + 1
                path = self.key()
                if self.peek() != '=':
                    self.error('expected "=" after key')
                self.i += 1
                self.skip_ws()
                value_start = self.i
                value = self.value()
                value_end = self.i
                t = current
                for part in path[:-1]:
                    t = self.descend(t, part)
                if path[-1] in t:
                    self.error('key %r defined twice' % path[-1])
                t[path[-1]] = value
                full = None if header_path is None else header_path + tuple(path)
                self.keyvals.append((full, header_index, line_start, start, value_start, value_end))
                self.end_of_line()


def _get(doc, path):
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def _set(doc, path, value):
    for part in path[:-1]:
        doc = doc.setdefault(part, {})
    doc[path[-1]] = value


class Document(object):

    def __init__(self, text):
        self.bom = text.startswith(BOM)
        self.text = text[1:] if self.bom else text
        self.newline = '\r\n' if '\r\n' in self.text else '\n'
        self._read()

    def _read(self):
        parser = _Spans(self.text)
        try:
            self.data = parser.parse_spans()
        except _toml.TomlError as exc:
            raise EditError('not valid TOML: %s' % exc)
        self.headers, self.keyvals = parser.headers, parser.keyvals
        try:  # the same verdict as the reader every other part of the collection uses
            _toml.loads(self.text)
        except _toml.TomlError as exc:
            raise EditError('not valid TOML: %s' % exc)

    def render(self):
        return (BOM if self.bom else '') + self.text

    def get(self, path):
        return _get(self.data, path)

    # -------------------------------------------------------------- edits
    def _splice(self, start, end, new, expected):
        text = self.text[:start] + new + self.text[end:]
        old_text = self.text
        self.text = text
        try:
            self._read()
        except EditError as exc:
            self.text = old_text
            self._read()
            raise EditError('the edit would not parse (%s); nothing was changed' % exc)
        if self.data != expected:
            self.text = old_text
            self._read()
            raise EditError('the edit would change more than the one setting; nothing was changed')

    def _line_end(self, pos):
        """Position after the newline that ends the line ``pos`` is on (len(text) at the end)."""
        nl = self.text.find('\n', pos)
        return len(self.text) if nl < 0 else nl + 1

    def _indent_of(self, line_start):
        return re.match(r'[ \t]*', self.text[line_start:]).group(0)

    def _insert_line(self, pos, line):
        """Text and position to insert ``line`` as a whole line at ``pos`` (a line start or the end)."""
        if pos >= len(self.text) and self.text and not self.text.endswith('\n'):
            return self.newline + line  # the file keeps its missing final newline
        return line + self.newline

    def set_string(self, path, value):
        """Set the string at key ``path`` (a tuple) to ``value``; True when the text changed."""
        path = tuple(path)
        current = self.get(path)
        if current == value and isinstance(current, str):
            return False
        if current is not None and not isinstance(current, str):
            raise EditError('%s holds a %s, not a string' % ('.'.join(path), type(current).__name__))
        expected = copy.deepcopy(self.data)
        parent = _get(expected, path[:-1])
        if parent is not None and not isinstance(parent, dict):
            raise EditError('%s is not a table' % '.'.join(path[:-1]))
        _set(expected, path, value)
        for full, _h, _ls, _ks, vstart, vend in self.keyvals:
            if full == path:
                self._splice(vstart, vend, quote_string(value), expected)
                return True
        if current is not None:
            raise EditError('%s is set inside an inline table; set it by hand' % '.'.join(path))
        table = path[:-1]
        # the table has its own header: add the key after its last key/value
        for index, (hpath, hstart, hend) in enumerate(self.headers):
            if hpath == table:
                mine = [kv for kv in self.keyvals if kv[1] == index]
                if mine:
                    line_start = mine[-1][2]
                    pos = self._line_end(mine[-1][5])
                    indent = self._indent_of(line_start)
                else:
                    pos = hend
                    indent = self._indent_of(self.text.rfind('\n', 0, hstart) + 1) + '  '
                line = indent + quote_key(path[-1]) + ' = ' + quote_string(value)
                self._splice(pos, pos, self._insert_line(pos, line), expected)
                return True
        # the table is (part of) an inline table: that cannot take a key in place
        for full, _h, _ls, _ks, _vs, _ve in self.keyvals:
            if full and full == table[:len(full)]:
                raise EditError('%s is an inline table; set %s by hand' % ('.'.join(table), path[-1]))
        # the table exists through dotted keys: add a sibling dotted key
        if parent is not None:
            for full, hindex, line_start, _ks, _vs, vend in self.keyvals:
                if full and full[:len(table)] == table and len(full) > len(table):
                    base = self.headers[hindex][0] if hindex >= 0 else ()
                    if base is None or len(base) >= len(table):
                        continue  # a key of a sub-table's own header
                    rel = table[len(base):] + (path[-1],)
                    pos = self._line_end(vend)
                    line = self._indent_of(line_start) + '.'.join(quote_key(p) for p in rel) + ' = ' + \
                        quote_string(value)
                    self._splice(pos, pos, self._insert_line(pos, line), expected)
                    return True
        # the table exists only through its sub-tables' headers, or not at all: a new table at the end
        header = '[' + '.'.join(quote_key(p) for p in table) + ']'
        body = header + self.newline + '  ' + quote_key(path[-1]) + ' = ' + quote_string(value)
        end = len(self.text)
        if not self.text:
            new = body + self.newline
        elif self.text.endswith('\n'):
            new = self.newline + body + self.newline
        else:
            new = self.newline + self.newline + body
        self._splice(end, end, new, expected)
        return True

    # -------------------------------------------------------------- arrays of strings
    def _array_items(self, vstart):
        """[(start, end)] of the items of the array at ``vstart`` and the position of its ``]``."""
        parser = _toml._Parser(self.text)
        parser.i = vstart + 1
        items = []
        while True:
            parser.skip_ws_nl()
            if parser.peek() == ']':
                return items, parser.i
            start = parser.i
            parser.value()
            items.append((start, parser.i))
            parser.skip_ws_nl()
            if parser.peek() == ',':
                parser.i += 1

    def _top_keyval(self, key):
        for kv in self.keyvals:
            if kv[0] == (key,) and kv[1] == -1:
                return kv
        return None

    def add_to_array(self, key, value, after_key='version'):
        """Append string ``value`` to the top-level array ``key`` (created after ``after_key``)."""
        current = self.get((key,))
        if current is not None and not isinstance(current, list):
            raise EditError('%s is not an array' % key)
        if current and value in current:
            return False
        expected = copy.deepcopy(self.data)
        expected[key] = list(current or []) + [value]
        kv = self._top_keyval(key)
        if kv is None:
            line = key + ' = [' + quote_string(value) + ']'
            anchor = self._top_keyval(after_key)
            if anchor is not None:
                pos = self._line_end(anchor[5])
            else:
                pos = 0
            self._splice(pos, pos, self._insert_line(pos, line), expected)
            return True
        items, dummy = self._array_items(kv[4])
        if not items:
            self._splice(kv[4] + 1, kv[4] + 1, quote_string(value), expected)
            return True
        last_start, last_end = items[-1]
        if len(items) > 1:
            sep = self.text[items[-2][1]:items[-1][0]]
            sep = sep[:sep.find(',') + 1] + re.sub(r'^[^\n]*', '', sep[sep.find(',') + 1:]) if '\n' in sep else sep
            if '#' in sep:  # a comment between items: keep only the comma and the layout
                sep = ',' + (self.newline + self._indent_of(self.text.rfind('\n', 0, last_start) + 1)
                             if '\n' in sep else ' ')
        elif '\n' in self.text[kv[4]:last_start]:
            sep = ',' + self.newline + self._indent_of(self.text.rfind('\n', 0, last_start) + 1)
        else:
            sep = ', '
        self._splice(last_end, last_end, sep + quote_string(value), expected)
        return True

    def remove_from_array(self, key, value):
        """Drop every item equal to ``value`` from the top-level array ``key``; True when the text changed."""
        current = self.get((key,))
        if not isinstance(current, list) or value not in current:
            return False
        changed = False
        while value in (self.get((key,)) or []):
            expected = copy.deepcopy(self.data)
            expected[key].remove(value)
            kv = self._top_keyval(key)
            if kv is None:
                raise EditError('%s is not a plain key of the document' % key)
            items, dummy = self._array_items(kv[4])
            values = self.get((key,))
            index = values.index(value)
            if len(items) == 1:
                start, end = items[0][0], self._after_comma(items[0][1])
            elif index < len(items) - 1:
                start, end = items[index][0], items[index + 1][0]
            else:
                start, end = items[index - 1][1], items[index][1]
            self._splice(start, end, '', expected)
            changed = True
        return changed

    def _after_comma(self, pos):
        m = re.match(r'[ \t]*,', self.text[pos:])
        return pos + m.end() if m else pos
