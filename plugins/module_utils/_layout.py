# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layout-keeping JSON edits: a changed document is written back so every untouched value keeps its bytes.

Pure stdlib, Python 3.9+. ``splice(text, old, new, style)`` walks the original text beside both
documents: equal values are copied from the text byte for byte (with the whitespace and commas
around them), changed containers are rebuilt member by member, and only values that are new are
written afresh in the layout ``detect_style`` found (indent unit, separators, newline, one-line
scalar lists). So one-line arrays, two/four spaces, tabs, CRLF and irregular spacing survive.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import re

_WS = re.compile(r'[ \t\r\n]*')
_INDENT = re.compile(r'[ \t]*')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r'-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null')


class LayoutError(Exception):
    """The text could not be followed (callers fall back to a full re-dump)."""


# ---------------------------------------------------------------- style of fresh values

def detect_style(text):
    """How a JSON text is laid out, so values written afresh look like their neighbours."""
    newline = '\r\n' if '\r\n' in text else '\n'
    body = text.strip()
    style = {
        'indent': None, 'newline': newline, 'final_newline': text.endswith('\n'),
        'key_sep': ': ', 'item_sep': ', ', 'inline_lists': False, 'inline_objects': False, 'pad': '',
        'ensure_ascii': all(ord(c) < 128 for c in text),
    }
    m = re.search(r'"(?:[^"\\\n]|\\.)*"([ \t]*):([ \t]*)', body)
    if m:
        style['key_sep'] = m.group(1) + ':' + m.group(2)
    if '\n' not in body:
        m = re.search(r'[}\]"\d el],([ \t]*)["{\[\d tfn-]', body)
        style['item_sep'] = ',' + (m.group(1) if m else ' ')
        return style
    m = re.search(r'\n([ \t]+)\S', body)
    style['indent'] = m.group(1) if m else ''
    # scalar lists / flat objects written on one line (hand-written profiles)
    m = re.search(r'\[([ \t]*)("(?:[^"\\\n]|\\.)*"|-?\d+|true|false|null)[ \t]*[,\]]', body)
    if m:
        style['inline_lists'] = True
        style['pad'] = m.group(1)
        m2 = re.search(r'[^\s\[],([ \t]*)[^\s]', body[m.start():body.find('\n', m.start())])
        style['item_sep'] = ',' + (m2.group(1) if m2 else ' ')
    if re.search(r'\{[ \t]*"(?:[^"\\\n]|\\.)*"[ \t]*:[ \t]*("(?:[^"\\\n]|\\.)*"|-?\d+|true|false|null)[ \t]*[,}]',
                 body):
        style['inline_objects'] = True
    return style


def _scalar(value):
    return not isinstance(value, (dict, list))


def _dump(value, style, prefix=''):
    """``value`` as text in ``style``; ``prefix`` is the indentation of the line it starts on."""
    ascii_ = style['ensure_ascii']
    if _scalar(value):
        return json.dumps(value, ensure_ascii=ascii_)
    is_dict = isinstance(value, dict)
    open_, close = ('{', '}') if is_dict else ('[', ']')
    if not value:
        return open_ + close
    indent = style['indent']
    inner_prefix = prefix + (indent or '')
    if is_dict:
        parts = [json.dumps(k, ensure_ascii=ascii_) + style['key_sep'] + _dump(v, style, inner_prefix)
                 for k, v in value.items()]
        children = value.values()
    else:
        parts = [_dump(v, style, inner_prefix) for v in value]
        children = value
    inline = indent is None or (all(_scalar(c) for c in children)
                                and (style['inline_objects'] if is_dict else style['inline_lists']))
    if inline:
        pad = style['pad'] if indent is not None else ''
        return open_ + pad + style['item_sep'].join(parts) + pad + close
    inner = style['newline'] + inner_prefix
    return open_ + inner + (',' + inner).join(parts) + style['newline'] + prefix + close


def dump(doc, style):
    """The whole document in ``style`` (used when no original text can be followed)."""
    text = _dump(doc, style)
    if style['final_newline']:
        text += style['newline']
    return text


# ---------------------------------------------------------------- spans of the original text

class _Node(object):
    """A value of the original text: kind, [start, end) and its children.

    Children are (key or None, lead start, start, node): the lead is the text between the previous
    child (or the opening bracket) and this child (its key for an object member), comma included.
    """
    __slots__ = ('kind', 'start', 'end', 'children', 'tail')

    def __init__(self, kind, start):
        self.kind, self.start, self.end, self.children, self.tail = kind, start, start, [], start


def _skip(text, pos):
    return _WS.match(text, pos).end()


def _parse(text, pos):
    pos = _skip(text, pos)
    char = text[pos:pos + 1]
    if char in ('{', '['):
        node = _Node('object' if char == '{' else 'array', pos)
        close = '}' if char == '{' else ']'
        lead = scan = pos + 1
        pos = _skip(text, lead)
        if text[pos:pos + 1] == close:
            node.tail, node.end = lead, pos + 1
            return node
        while True:
            key, key_start = None, _skip(text, scan)
            pos = key_start
            if node.kind == 'object':
                m = _STRING.match(text, pos)
                if not m:
                    raise LayoutError('expected a key at offset %d' % pos)
                key = json.loads(m.group(0))
                pos = _skip(text, m.end())
                if text[pos:pos + 1] != ':':
                    raise LayoutError('expected ":" at offset %d' % pos)
                pos += 1
            child = _parse(text, pos)
            node.children.append((key, lead, key_start, child))
            pos = _skip(text, child.end)
            char = text[pos:pos + 1]
            if char == ',':
                lead, scan = child.end, pos + 1
                continue
            if char != close:
                raise LayoutError('expected "," or "%s" at offset %d' % (close, pos))
            node.tail, node.end = child.end, pos + 1
            return node
    m = _STRING.match(text, pos) or _SCALAR.match(text, pos)
    if not m:
        raise LayoutError('unexpected text at offset %d' % pos)
    node = _Node('scalar', pos)
    node.end = m.end()
    return node


def parse_spans(text):
    """Span tree of a JSON text (which json.loads already accepted)."""
    root = _parse(text, 0)
    if text[_skip(text, root.end):].strip():
        raise LayoutError('text after the top-level value')
    return root


# ---------------------------------------------------------------- splice

def _same(old, new):
    return type(old) is type(new) and json.dumps(old) == json.dumps(new)


class _Splicer(object):

    def __init__(self, text, style):
        self.text, self.style = text, style

    def line_prefix(self, pos):
        """Indentation of the line ``pos`` is on."""
        start = self.text.rfind('\n', 0, pos) + 1
        return _INDENT.match(self.text, start, pos).group(0)

    def fresh(self, value, node, container):
        """``value`` written afresh in place of ``node``, or as a new child of ``container`` (node None)."""
        if '\n' not in self.text[container.start:container.end]:
            style = dict(self.style, indent=None)  # a one-line container stays on one line
        else:
            style = self.style
        where = node.start if node is not None else container.children[0][2]
        return _dump(value, style, self.line_prefix(where))

    def render(self, node, old, new, container=None):
        if _same(old, new):
            return self.text[node.start:node.end]
        if node.kind == 'object' and isinstance(old, dict) and isinstance(new, dict) and node.children:
            return self._object(node, old, new)
        if node.kind == 'array' and isinstance(old, list) and isinstance(new, list) and node.children:
            return self._array(node, old, new)
        return self.fresh(new, node, container or node)

    def _join(self, node, pieces):
        """pieces: (original child index or None, text of the child)."""
        first_lead = self.text[node.children[0][1]:node.children[0][2]]
        if len(node.children) > 1:
            usual = self.text[node.children[1][1]:node.children[1][2]]
        else:
            usual = ',' + first_lead
        out = [self.text[node.start]]
        for position, (index, body) in enumerate(pieces):
            if position == 0:
                lead = first_lead
            elif index is not None and index > 0:  # its own lead, comma included
                lead = self.text[node.children[index][1]:node.children[index][2]]
            else:
                lead = usual
            out.append(lead + body)
        out.append(self.text[node.tail:node.end])
        return ''.join(out)

    def _object(self, node, old, new):
        where = dict((key, i) for i, (key, _l, _k, _c) in enumerate(node.children))
        if len(where) != len(node.children):
            raise LayoutError('duplicate keys')
        pieces = []
        for key, value in new.items():
            index = where.get(key)
            if index is None:
                text = (json.dumps(key, ensure_ascii=self.style['ensure_ascii']) + self.style['key_sep']
                        + self.fresh(value, None, node))
                pieces.append((None, text))
                continue
            _key, _lead, key_start, child = node.children[index]
            pieces.append((index, self.text[key_start:child.start] + self.render(child, old[key], value, node)))
        return self._join(node, pieces)

    def _array(self, node, old, new):
        if len(old) != len(node.children):
            raise LayoutError('array length differs from its text')
        pieces = []
        matcher = difflib.SequenceMatcher(None, [json.dumps(v) for v in old], [json.dumps(v) for v in new],
                                          autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == 'equal':
                for k in range(i2 - i1):
                    child = node.children[i1 + k][3]
                    pieces.append((i1 + k, self.text[child.start:child.end]))
                continue
            # pair each new value with the most similar old one, in order; the rest are new
            next_old = i1
            for j in range(j1, j2):
                best, best_score = None, 0
                for i in range(next_old, i2):
                    score = _similarity(old[i], new[j])
                    if score > best_score:
                        best, best_score = i, score
                if best is None:
                    pieces.append((None, self.fresh(new[j], None, node)))
                    continue
                pieces.append((best, self.render(node.children[best][3], old[best], new[j], node)))
                next_old = best + 1
        return self._join(node, pieces)


def _similarity(old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        return sum(1 for k, v in new.items() if k in old and _same(old[k], v))
    return 0


def splice(text, old, new, style):
    """Text of ``new`` that keeps every byte of ``text`` (the text of ``old``) that did not change.

    Raises LayoutError when the text cannot be followed.
    """
    root = parse_spans(text)
    body = _Splicer(text, style).render(root, old, new)
    return text[:root.start] + body + text[root.end:]
