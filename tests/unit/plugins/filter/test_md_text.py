# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""md_text: host text in the remediate role's Markdown change report cannot break its layout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.filter.md_text import md_text


def test_host_text_stays_one_escaped_line():
    crafted = '/etc/a|b.json\n## forged heading `x` <img src=x> _y_ \x1b[31m'
    text = md_text(crafted)
    assert '\n' not in text and '\x1b' not in text
    assert text == '/etc/a\\|b.json ## forged heading \\`x\\` &lt;img src=x&gt; \\_y\\_ \\\\x1b\\[31m'


def test_plain_values():
    assert md_text('1.2.0-rc.2') == '1.2.0-rc.2'
    assert md_text(None) == ''
    assert md_text(['fcntl', 'write']) == 'fcntl, write'
