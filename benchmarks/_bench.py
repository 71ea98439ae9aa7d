# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every benchmark shares: medians of rounds, goals, asserted counts, one JSON result.

    result = Result('report_bench', params={'hosts': 10000, 'rounds': 5})
    result.measure('build', [0.71, 0.69, 0.74])            # keeps the values and their median
    result.count('findings described', 1050, 1050)         # a count the numbers rely on: must match
    result.goal('total <= 5 s', result.median_of('total'), '<=', 5.0)
    result.table('Report steps', ['step', 'seconds'], rows)  # what docs/benchmarks.md shows
    sys.exit(result.finish(args.json))                     # writes JSON, prints goals; 1 if one missed

The JSON (`benchmarks/results/<name>.json` by default) is what `benchmarks/run.py --write-docs`
turns into docs/benchmarks.md and what the claims check (scripts/claims.py) reads.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, 'results')
OPS = {'<=': lambda a, b: a <= b, '>=': lambda a, b: a >= b, '==': lambda a, b: a == b,
       '<': lambda a, b: a < b, '>': lambda a, b: a > b}


def default_json(name):
    return os.path.join(RESULTS, '%s.json' % name)


def add_arguments(parser, name, rounds=5):
    """--rounds (medians over this many) and --json (where the result goes)."""
    parser.add_argument('--rounds', type=int, default=rounds, help='rounds to take the median of (default %d)' % rounds)
    parser.add_argument('--json', default=default_json(name), help='JSON result (default benchmarks/results/%s.json)' % name)


def median(values):
    return statistics.median(values) if values else float('nan')


class Result(object):
    def __init__(self, name, params=None):
        self.data = {
            'benchmark': name,
            'params': dict(params or {}),
            'machine': {'python': platform.python_version(), 'platform': platform.platform(), 'machine': platform.machine(),
                        'cpus': os.cpu_count(), 'load_average': round(os.getloadavg()[0], 1)},
            'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
            'measurements': {}, 'counts': [], 'goals': [], 'tables': [], 'notes': [],
        }

    def measure(self, key, values, unit='s'):
        values = [float(v) for v in values]
        self.data['measurements'][key] = {'values': [round(v, 6) for v in values], 'median': round(median(values), 6),
                                          'unit': unit}
        return median(values)

    def median_of(self, key):
        return self.data['measurements'][key]['median']

    def count(self, name, actual, expected):
        """A count the measurement relies on (all profiles described, the same work on both sides)."""
        met = actual == expected
        self.data['counts'].append({'name': name, 'actual': actual, 'expected': expected, 'met': met})
        if not met:
            print('COUNT WRONG: %s: %r, expected %r' % (name, actual, expected), file=sys.stderr)
        return met

    def goal(self, name, value, op, limit):
        met = bool(OPS[op](value, limit))
        self.data['goals'].append({'name': name, 'value': round(value, 4) if isinstance(value, float) else value,
                                   'op': op, 'limit': limit, 'met': met})
        return met

    def table(self, title, columns, rows):
        self.data['tables'].append({'title': title, 'columns': list(columns),
                                    'rows': [[cell if isinstance(cell, (int, float)) else str(cell) for cell in row]
                                             for row in rows]})

    def note(self, text):
        self.data['notes'].append(text)

    @property
    def ok(self):
        return all(g['met'] for g in self.data['goals']) and all(c['met'] for c in self.data['counts'])

    def finish(self, path=None):
        """Write the JSON, print tables and goals; exit status: 0 when every goal and count holds."""
        self.data['finished'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        self.data['goals_met'] = self.ok
        path = path or default_json(self.data['benchmark'])
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            os.makedirs(directory)
        scratch = path + '.tmp'
        with open(scratch, 'w') as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
            handle.write('\n')
        os.rename(scratch, path)
        for table in self.data['tables']:
            print('\n%s\n' % table['title'])
            print(markdown_table(table))
        print('')
        for item in self.data['counts']:
            print('%s count %s: %r (expected %r)' % ('ok  ' if item['met'] else 'FAIL', item['name'], item['actual'],
                                                     item['expected']))
        for item in self.data['goals']:
            print('%s goal %s: %s %s %s' % ('ok  ' if item['met'] else 'MISS', item['name'], item['value'], item['op'],
                                            item['limit']))
        print('result: %s (%s)' % (path, 'every goal met' if self.ok else 'GOAL MISSED'))
        return 0 if self.ok else 1


def _cell(value):
    if isinstance(value, float):
        return '%.2f' % value if abs(value) < 100 else '%.0f' % value
    return str(value)


def markdown_table(table):
    lines = ['| %s |' % ' | '.join(table['columns']), '|%s' % ('---|' * len(table['columns']))]
    lines += ['| %s |' % ' | '.join(_cell(c) for c in row) for row in table['rows']]
    return '\n'.join(lines)
