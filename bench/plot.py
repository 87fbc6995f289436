# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The benchmark figure: doc/source/benchmarks/benchmarks.png."""

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def _points(section):
    pts = sorted(section['points'].items(), key=lambda kv: int(kv[0]))
    return [int(k) for k, _ in pts], [v for _, v in pts]


def plot(results: dict, path: str) -> None:
    fig, axes = plt.subplots(3, 2, figsize=(12, 13))
    host = results.get('host') or {}
    rig = results.get('rig') or {}

    ax = axes[0][0]
    if host.get('points'):
        xs, vals = _points(host)
        for key, label, style in (
                ('lvcreate', 'raw lvcreate', 'o--'),
                ('create_volume', 'driver create_volume', 'o-'),
                ('lvremove', 'raw lvremove', 's--'),
                ('delete_volume', 'driver delete_volume', 's-'),
                ('vgs', 'vgs (a read)', 'x:')):
            ax.plot(xs, [v[key]['median_s'] for v in vals], style,
                    label=label)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.legend(fontsize=8)
    ax.set_xlabel('LVs in the VG')
    ax.set_ylabel('seconds per operation (median)')
    ax.set_title('Scale: metadata-only LVM on a loop device')

    ax = axes[0][1]
    bars, labels = [], []
    for n in ('10', '1000', '5000'):
        for where, sec, keys in (('host', host.get('points', {}),
                                  ('create', 'delete')),
                                 ('rig', (rig.get('overhead') or {}),
                                  ('create', 'delete', 'snapshot'))):
            row = sec.get(n) if isinstance(sec, dict) else None
            if not row or 'error' in row:
                continue
            for k in keys:
                bars.append(row['ratio_' + k])
                labels.append('%s %s\n%s' % (where, k, n))
    if bars:
        ax.bar(range(len(bars)), bars, color=[
            'tab:blue' if lab.startswith('host') else 'tab:orange'
            for lab in labels])
        ax.set_xticks(range(len(bars)))
        ax.set_xticklabels(labels, fontsize=6, rotation=90)
    ax.axhline(1.2, color='red', linestyle='--', label='target 1.2x')
    ax.axhline(1.0, color='grey', linewidth=0.5)
    ax.set_ylabel('driver / raw LVM (median time)')
    ax.set_title('Overhead against raw LVM (blue: host, orange: rig)')
    ax.legend(fontsize=8)

    ax = axes[1][0]
    dp = rig.get('datapath') or {}
    jobs = [j for j in ('seq-write', 'seq-read', 'rand-write', 'rand-read')
            if j in dp]
    if jobs:
        width = 0.4
        xs = range(len(jobs))
        ax.bar([x - width / 2 for x in xs],
               [dp[j]['ratio_shared_to_raw'] for j in jobs], width,
               label='shared LVM / raw LU')
        ax.bar([x + width / 2 for x in xs],
               [dp[j]['ratio_shared_to_iscsi'] for j in jobs], width,
               label='shared LVM / stock iSCSI')
        ax.set_xticks(list(xs))
        ax.set_xticklabels(jobs)
        ax.set_yscale('log')
        ax.axhline(1.0, color='grey', linewidth=0.5)
        ax.legend(fontsize=8)
    ax.set_ylabel('IOPS ratio (log)')
    ax.set_title('fio, direct I/O, in one TCG VM (TCG inflates iSCSI cost)')

    ax = axes[1][1]
    conc = rig.get('concurrency') or {}
    if conc and 'error' not in conc:
        ns = sorted(int(n) for n in conc)
        ax.plot(ns, [conc[str(n)]['driver_ops_per_s'] for n in ns], 'o-',
                label='driver (VG lock)')
        ax.plot(ns, [conc[str(n)]['raw_ops_per_s'] for n in ns], 'o--',
                label='raw lvcreate/lvremove')
        ax.set_xscale('log', base=2)
        ax.legend(fontsize=8)
    ax.set_xlabel('parallel create+delete pairs (N)')
    ax.set_ylabel('operations per second')
    ax.set_title('Concurrency on the rig')

    _pools_panel(axes[2][0], results.get('pools') or {})
    _copy_panel(axes[2][1], rig.get('copy') or {})
    fig.suptitle('cinder-shared-lvm benchmarks, %s, %s' % (
        results.get('date', '?'), results.get('machine', {}).get(
            'summary', '')), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _pools_panel(ax, pl: dict) -> None:
    keys = (('vg_10', '1 VG\n10 LVs'),
            ('pool_own_filter', '1 of 4 VGs\nown dev'),
            ('pool_all_filter', '1 of 4 VGs\nall devs'),
            ('one_vg', '1 VG\n40k LVs'), ('driver_pools', 'driver\n4 VGs'),
            ('driver_one_vg', 'driver\n1 VG'))
    keys = [(k, label) for k, label in keys if k in pl]
    if keys:
        ax.bar(range(len(keys)),
               [pl[k]['create_ratio_to_10_lvs'] for k, _l in keys],
               color=['tab:grey' if k == 'vg_10' else 'tab:green'
                      if 'pool' in k else 'tab:red' for k, _l in keys])
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels([label for _k, label in keys], fontsize=7)
        ax.axhline(3, color='red', linestyle='--', label='target 3x')
        ax.legend(fontsize=8)
    ax.set_ylabel('lvcreate / lvcreate in a 10-LV VG')
    ax.set_title('40,000 LVs: 4 VGs as pools against one VG')


def _copy_panel(ax, cp: dict) -> None:
    names = [n for n in sorted(cp) if isinstance(cp[n], dict)]
    if names and 'error' not in cp:
        ax.bar(range(len(names)), [cp[n]['GiBps'] for n in names],
               color=['tab:grey' if n.startswith('raw') else 'tab:blue'
                      for n in names])
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, fontsize=7, rotation=30)
    ax.set_ylabel('GiB/s')
    ax.set_title('Copies on the rig (%s GiB; grey: raw O_DIRECT dd)'
                 % cp.get('size_gib', '?'))
