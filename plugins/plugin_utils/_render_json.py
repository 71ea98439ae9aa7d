# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: JSON (the versioned layout of docs/report-schema.md).

Streamed: ``chunks`` yields the document piece by piece (the standard library's encoder, as
``json.dumps(indent=2, sort_keys=True)`` writes it, byte for byte), so a 100,000-host report (about
220 MB) is written without ever being one string in memory.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import UNSAFE_CHARS

FORMAT = 'json'
EXTENSION = 'json'
DEFAULT = True
# Items of a top-level list (hosts) per chunk handed on.
CHUNK = 500


def _escape(match):
    return '\\u%04x' % ord(match.group())


def _dumps(value, depth=0):
    """json.dumps(indent=2, sort_keys=True) of ``value`` as it stands ``depth`` levels deep in the
    document: every line after the first indented 2 * depth more (a newline inside a string is
    written as the two characters \\n, so each newline is one of the layout's)."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return text.replace('\n', '\n' + '  ' * depth) if depth else text


def _pieces(fleet):
    """The document as json.dumps(indent=2, sort_keys=True) writes it, top-level lists item by item
    (each item by the standard library's C encoder)."""
    if not isinstance(fleet, dict) or not fleet or not all(isinstance(k, str) for k in fleet):
        yield _dumps(fleet)
        return
    for number, key in enumerate(sorted(fleet)):
        value = fleet[key]
        yield '%s\n  %s: ' % (',' if number else '{', json.dumps(key, ensure_ascii=False))
        if not (isinstance(value, list) and value):
            yield _dumps(value, 1)
            continue
        for start in range(0, len(value), CHUNK):
            yield ''.join('%s\n    %s' % (',' if start + n else '[', _dumps(item, 2))
                          for n, item in enumerate(value[start:start + CHUNK]))
        yield '\n  ]'
    yield '\n}'


def chunks(fleet):
    """The JSON document in chunks (a top-level list's CHUNK items at most; the last one ends in a newline)."""
    # json escapes C0 controls; C1 and bidi controls become \\uXXXX escapes too (they can only stand
    # inside strings, and a JSON reader decodes them back to the same text). One character at a time,
    # so where a chunk ends does not matter.
    for piece in _pieces(fleet):
        yield UNSAFE_CHARS.sub(_escape, piece)
    yield '\n'


def render(fleet):
    return ''.join(chunks(fleet))


def files(fleet, basename):
    """The report file, streamed (``_renderers.render_files``). Valid by construction (the standard
    library's encoder, piece by piece); checked to be complete: a document that did not end is never
    written (a full parse of 220 MB would hold the fleet twice)."""
    def make():
        previous = last = ''
        for chunk in chunks(fleet):
            previous, last = last, chunk
            yield chunk
        if not (previous.endswith('}') and last == '\n'):
            raise ValueError('the JSON document did not end')
    return [('%s.%s' % (basename, EXTENSION), make)]


def validate(text, fleet):
    json.loads(text)
