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

"""Horizon's volume panels in headless Chromium (Playwright).

Runs in Horizon's venv (``tests.services.horizon``), as an operator would
click: log in, Project > Volumes, create a volume, snapshot it, create a
volume from the snapshot, and wait until each shows Available; then open
the admin volume-type and volume views. A screenshot of each step goes to
``--out``; the report (JSON on stdout) lists the steps, the screenshots
and what each admin view showed. ``playwright install`` cannot download
browsers here, so Playwright drives Debian's chromium.
"""

import argparse
import json
import os
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
                  '--disable-quic', '--no-first-run',
                  '--disable-background-networking',
                  '--disable-component-update', '--disable-sync']
STATUS_TIMEOUT = 900          # seconds for a volume to become Available
VOLUME, SNAPSHOT, FROM_SNAPSHOT = 'hz-vol1', 'hz-snap1', 'hz-vol2'


class Browser(object):

    def __init__(self, page, base, out):
        self.page = page
        self.base = base
        self.out = out
        self.shots = []

    def shot(self, name):
        path = os.path.join(self.out, '%s.png' % name)
        self.page.screenshot(path=path, full_page=False)
        self.shots.append(os.path.basename(path))

    def go(self, path):
        # NOTE: a modal form's submit makes Horizon navigate by itself; a
        # goto racing that navigation is aborted (net::ERR_ABORTED), so
        # try again once the page has settled.
        for attempt in range(3):
            try:
                return self.page.goto(self.base + path,
                                      wait_until='domcontentloaded')
            except Exception as err:
                if 'ERR_ABORTED' not in str(err) or attempt == 2:
                    raise
                self.page.wait_for_load_state()

    def submit(self, modal):
        """Press the modal's submit button and wait for Horizon's reload."""
        modal.locator('input[type=submit], button[type=submit]').last.click()
        modal.wait_for(state='detached', timeout=300000)
        self.page.wait_for_load_state()

    def login(self, user, password):
        self.go('/auth/login/')
        self.page.fill('#id_username', user)
        self.page.fill('#id_password', password)
        self.shot('01-login')
        self.page.click('button[type=submit]')
        self.page.wait_for_url(lambda url: '/auth/login' not in url,
                               timeout=120000)

    def submit_modal(self, fields):
        modal = self.page.locator('.modal-dialog')
        modal.wait_for(timeout=120000)
        for selector, value in fields.items():
            modal.locator(selector).fill(value)
        return modal

    def row(self, table, name):
        return self.page.locator('table#%s tr' % table, has_text=name)

    def wait_available(self, path, table, name):
        """Reload *path* until *name*'s row says Available."""
        deadline = time.monotonic() + STATUS_TIMEOUT
        while True:
            self.go(path)
            row = self.row(table, name)
            if row.count() and 'Available' in row.first.inner_text():
                return row.first
            if row.count() and 'Error' in row.first.inner_text():
                raise RuntimeError('%s is in error: %s' % (
                    name, row.first.inner_text()))
            if time.monotonic() > deadline:
                raise RuntimeError('%s not Available after %ds' % (
                    name, STATUS_TIMEOUT))
            time.sleep(3)

    def row_action(self, row, label):
        """Click a row action, opening the row's menu if it is there."""
        link = row.get_by_role('link', name=label)
        if not link.is_visible():
            row.locator('.dropdown-toggle').first.click()
        row.get_by_role('link', name=label).click()

    def create_volume(self):
        self.go('/project/volumes/')
        self.shot('02-volumes-empty')
        self.page.get_by_role('link', name='Create Volume').first.click()
        modal = self.submit_modal({'#id_name': VOLUME, '#id_size': '1'})
        self.shot('03-create-volume-form')
        self.submit(modal)
        self.wait_available('/project/volumes/', 'volumes', VOLUME)
        self.shot('04-volume-available')

    def create_snapshot(self):
        row = self.wait_available('/project/volumes/', 'volumes', VOLUME)
        self.row_action(row, 'Create Snapshot')
        modal = self.submit_modal({'#id_name': SNAPSHOT})
        self.submit(modal)
        self.wait_available('/project/snapshots/', 'volume_snapshots',
                            SNAPSHOT)
        self.shot('05-snapshot-available')

    def volume_from_snapshot(self):
        row = self.wait_available('/project/snapshots/', 'volume_snapshots',
                                  SNAPSHOT)
        self.row_action(row, 'Create Volume')
        modal = self.submit_modal({'#id_name': FROM_SNAPSHOT})
        self.shot('06-volume-from-snapshot-form')
        self.submit(modal)
        self.wait_available('/project/volumes/', 'volumes', FROM_SNAPSHOT)
        self.shot('07-volumes-available')

    def admin_view(self, path, name):
        """Open an admin view; what it showed (or why it failed)."""
        response = self.go(path)
        self.shot(name)
        errors = self.page.locator('.alert-danger, .messages .error')
        return {'path': path, 'http_status': response.status,
                'errors': [e.inner_text().strip()
                           for e in errors.all()][:5],
                'title': self.page.title()}


def main(argv=None):
    parser = argparse.ArgumentParser()
    for option in ('--url', '--user', '--password', '--out', '--chromium'):
        parser.add_argument(option, required=True)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    report = {'steps': [], 'admin': []}
    with tempfile.TemporaryDirectory(prefix='cslvm-chromium-') as profile, \
            sync_playwright() as pw:
        # NOTE: Playwright refuses --user-data-dir in args; a persistent
        # context passes the fresh profile itself.
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=args.chromium, headless=True,
            args=CHROMIUM_FLAGS, viewport={'width': 1280, 'height': 800})
        page = browser.new_page()
        page.set_default_timeout(120000)
        b = Browser(page, args.url, args.out)
        try:
            for step in ('login', 'create_volume', 'create_snapshot',
                         'volume_from_snapshot'):
                t0 = time.monotonic()
                if step == 'login':
                    b.login(args.user, args.password)
                else:
                    getattr(b, step)()
                report['steps'].append([step,
                                        round(time.monotonic() - t0, 1)])
            for path, name in (('/admin/volume_types/', '08-admin-types'),
                               ('/admin/volumes/', '09-admin-volumes'),
                               ('/admin/info/', '10-admin-info')):
                report['admin'].append(b.admin_view(path, name))
        except Exception as err:
            b.shot('failed')
            report['error'] = '%s: %s' % (type(err).__name__, err)
        finally:
            report['screenshots'] = b.shots
            browser.close()
    json.dump(report, sys.stdout, indent=2)
    return 1 if 'error' in report else 0


if __name__ == '__main__':
    sys.exit(main())
