# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet report's file formats: every ``_render_<format>.py`` module beside this one.

Adding a format is one new file, ``_render_<format>.py``, with::

    FORMAT = 'sarif'              # the name users put in ``formats`` / ``audit_report_formats``
    EXTENSION = 'sarif'           # the file is <basename>.<EXTENSION>
    DEFAULT = True                # written when ``formats`` is not given
    def render(fleet): ...        # fleet dict (``_report.build_fleet``) -> str; keyword
                                  # arguments for format options (sarif: base)
    def validate(text, fleet): ... # raise ValueError when ``text`` is not a sound document

``validate`` runs before anything is written, so a renderer bug never replaces a good report.
Renderers take their text helpers (``one_line``, ``runtime_text``, ``waiver_text``, ...) from
``_report``. The docs that list the formats (fleet_report options, the audit role's
``audit_report_formats``) name the new one too.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import os
import re

_PACKAGE = 'ansible_collections.runcguard.seccomp.plugins.plugin_utils'
_MODULE = re.compile(r'^_render_([a-z0-9_]+)\.py$')


def _discover():
    found = {}
    for name in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
        match = _MODULE.match(name)
        if not match:
            continue
        module = importlib.import_module('%s._render_%s' % (_PACKAGE, match.group(1)))
        if module.FORMAT != match.group(1):
            raise ImportError('%s declares FORMAT %r; the file name says %r' % (name, module.FORMAT, match.group(1)))
        found[module.FORMAT] = module
    return found


RENDERERS = _discover()
FORMATS = tuple(sorted(RENDERERS))
DEFAULT_FORMATS = tuple(fmt for fmt in FORMATS if RENDERERS[fmt].DEFAULT)
EXTENSIONS = dict((fmt, RENDERERS[fmt].EXTENSION) for fmt in FORMATS)


def _renderer(fmt):
    if fmt not in RENDERERS:
        raise ValueError('unknown report format %r (known: %s)' % (fmt, ', '.join(FORMATS)))
    return RENDERERS[fmt]


def render(fleet, formats=DEFAULT_FORMATS, options=None):
    """format -> text for each requested format; ``options``: format -> keyword arguments."""
    options = options or {}
    return dict((fmt, _renderer(fmt).render(fleet, **options.get(fmt, {}))) for fmt in formats)


def validate(fmt, text, fleet):
    """Raise ValueError when the rendered ``text`` is not a sound ``fmt`` document."""
    _renderer(fmt).validate(text, fleet)
