# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: JUnit XML (one test case per host and hazard)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from xml.parsers import expat
from xml.sax.saxutils import escape as _xml_escape, quoteattr as _xml_attr

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, severity_rank
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import UNAUDITED
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import gates, one_line, plural, verdict_line, waiver_text

FORMAT = 'junit'
EXTENSION = 'junit.xml'
DEFAULT = True

_XML_BAD = re.compile(u'[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def _x(value):
    # XML 1.0 forbids most control characters even escaped: drop them.
    return _XML_BAD.sub('', one_line(value))


def render(fleet, hazard_ids=None):
    """One testsuite per host, one testcase per host x hazard, plus an ``audit`` case per host.

    Active findings (not info) fail their case; info-only findings and waived ones pass/skip with
    the text in system-out; a host not audited errors its ``audit`` case and skips the rest.
    """
    ids = sorted(set(hazard_ids or CATALOGUE) | set(hz['id'] for hz in fleet['by_hazard']))
    id_attrs = [(hazard_id, _xml_attr(_x(hazard_id))) for hazard_id in ids]
    suites, t_tests, t_fail, t_err, t_skip = [], 0, 0, 0, 0
    for host in fleet['hosts']:
        cases, fails, errs, skips = [], 0, 0, 0
        name = _x(host['host'])
        classname = _xml_attr(name)
        unaudited = host['status'] in UNAUDITED
        audit_case = '<testcase classname=%s name="audit">' % classname
        if unaudited:
            audit_case += '<error type=%s message=%s/>' % (_xml_attr(host['status']), _xml_attr(_x(host['message'])))
            errs += 1
        elif host['errors']:
            audit_case += '<system-out>%s</system-out>' % _xml_escape(_x('\n'.join(
                '%s %s: %s' % (e['source'], e['path'], e['error']) for e in host['errors'])))
        cases.append(audit_case + '</testcase>')
        by_id = {}
        for f in host['findings']:
            by_id.setdefault(str(f.get('id')), []).append(f)
        for hazard_id, id_attr in id_attrs:
            head = '<testcase classname=%s name=%s>' % (classname, id_attr)
            found = by_id.get(hazard_id)
            if unaudited:
                cases.append(head + '<skipped message="host not audited"/></testcase>')
                skips += 1
                continue
            if not found:
                cases.append(head + '</testcase>')
                continue
            active = [f for f in found if not f.get('waived')]
            failing = [f for f in active if f.get('severity') != 'info']
            lines = ['%s %s: %s %s' % (f.get('severity'), f.get('profile'), f.get('message'), waiver_text(f))
                     for f in found]
            text = _xml_escape(_x('\n'.join(lines)))
            if failing:
                worst = max((f.get('severity') for f in failing), key=severity_rank)
                body = '<failure type=%s message=%s>%s</failure>' % (
                    _xml_attr(_x(worst)), _xml_attr(_x(plural(len(failing), '%s finding' % worst))), text)
                fails += 1
            elif not active:
                body = '<skipped message=%s/>' % _xml_attr(_x('waived: ' + waiver_text(found[0])))
                skips += 1
            else:
                body = '<system-out>%s</system-out>' % text
            cases.append(head + body + '</testcase>')
        suites.append('<testsuite name=%s tests="%d" failures="%d" errors="%d" skipped="%d">%s</testsuite>' % (
            classname, len(cases), fails, errs, skips, ''.join(cases)))
        t_tests += len(cases)
        t_fail += fails
        t_err += errs
        t_skip += skips
    # The gates: one case per gate that is set (failed when it failed); the suite's property names
    # them all, or says that none is set.
    cases = ['<testcase classname="runcguard gates" name=%s>%s</testcase>' % (
        _xml_attr(_x(g['gate'])), '<failure type="gate" message=%s/>' % _xml_attr(_x('%s=%s %s' % (
            g['gate'], g['setting'], g['text']))) if g['failed'] else '<system-out>%s</system-out>' % _xml_escape(
            _x('%s=%s %s' % (g['gate'], g['setting'], g['text'])))) for g in gates(fleet)]
    failed_gates = sum(1 for g in gates(fleet) if g['failed'])
    suites.append('<testsuite name="runcguard gates" tests="%d" failures="%d" errors="0" skipped="0"><properties>'
                  '<property name="gates" value=%s/></properties>%s</testsuite>' % (
                      len(cases), failed_gates, _xml_attr(_x(verdict_line(fleet))), ''.join(cases)))
    t_tests += len(cases)
    t_fail += failed_gates
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name=%s tests="%d" failures="%d" errors="%d" '
            'skipped="%d">\n%s\n</testsuites>\n' % (_xml_attr(_x(fleet['title'])), t_tests, t_fail, t_err, t_skip,
                                                    '\n'.join(suites)))


def validate(text, fleet):
    """Well-formed XML: the parser ElementTree uses (expat), with no tree built (a 100,000-host
    report is 140 MB; a whole tree of it would take GBs), fed 1 MB at a time."""
    parser = expat.ParserCreate()
    for start in range(0, len(text), 1 << 20):
        parser.Parse(text[start:start + (1 << 20)], False)
    parser.Parse('', True)
