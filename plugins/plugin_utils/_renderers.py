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
    def files(fleet, basename): ...  # optional: [(file name, make)], make() -> iterator of text
                                  # chunks, raising ValueError when unsound (json: streamed; html:
                                  # a summary page plus host pages for big fleets)

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


def extra_files(fmt):
    """A regular expression of the names after the basename of a format's files beyond its first
    (html host pages), or None."""
    return getattr(_renderer(fmt), 'EXTRA_FILES', None)


def render(fleet, formats=DEFAULT_FORMATS, options=None):
    """format -> text for each requested format; ``options``: format -> keyword arguments."""
    options = options or {}
    return dict((fmt, _renderer(fmt).render(fleet, **options.get(fmt, {}))) for fmt in formats)


class RenderError(Exception):
    """A rendered file that does not validate (a renderer bug): nothing of it is written."""

    def __init__(self, fmt, name, error):
        Exception.__init__(self, 'rendered %s report %s does not validate: %s' % (fmt, name, error))


def _checked(fmt, name, make):
    def produce():
        try:
            yield from make()
        except RenderError:
            raise
        except Exception as exc:  # pylint: disable=broad-except  # any renderer bug: nothing is written
            raise RenderError(fmt, name, exc)
    return produce


def render_files(fleet, fmt, basename, options=None):
    """[(file name, make)] of one format: ``make()`` yields the file's text in chunks (rendered when
    iterated, validated before the last chunk; RenderError when unsound). The first file is the report
    a person opens; more follow for html at many hosts (host pages)."""
    module = _renderer(fmt)
    kwargs = (options or {}).get(fmt, {})
    if hasattr(module, 'files'):
        found = module.files(fleet, basename, **kwargs)
    else:
        def make():
            text = module.render(fleet, **kwargs)
            module.validate(text, fleet)
            yield text
        found = [('%s.%s' % (basename, module.EXTENSION), make)]
    return [(name, _checked(fmt, name, make)) for name, make in found]


def validate(fmt, text, fleet):
    """Raise ValueError when the rendered ``text`` is not a sound ``fmt`` document."""
    _renderer(fmt).validate(text, fleet)
