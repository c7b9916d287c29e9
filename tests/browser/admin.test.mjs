// Headless-browser test of Gatehouse's admin console (/admin) and self-service sign-up.
//
// Drives Debian's `chromium` (/usr/bin/chromium, or CHROMIUM_PATH) with playwright-core
// against the already built `gatehouse` binary (GATEHOUSE_BIN, default
// ../../target/debug/gatehouse from this file). Everything runs on 127.0.0.1: the server
// (started with GATEHOUSE_SIGNUP=true), a second short-lived server without sign-up, and a
// tiny node:http server standing in for another site that posts a forged form.
//
//   cd tests/browser && npm ci && node --test admin.test.mjs
//
// Screenshots go to GATEHOUSE_SCREENSHOTS (default: the run's temporary directory, which
// is removed after a passing run unless GATEHOUSE_KEEP_TMP=1, and kept after a failing one).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import {
  PASSWORD,
  clickAndWait,
  createSuite,
  freePort,
  gatehouseEnv,
  runCli,
  startGatehouse,
  stopGatehouse,
  submitLogin,
} from './support.mjs';

// One account per test, so that the tests do not depend on each other or on their order.
const ADMINS = { clients: 'ada', csrf: 'dave', phone: 'erin', users: 'frank' };
const NON_ADMIN = 'carol';
const COMMON_PASSWORD = 'unbelievable'; // 12 characters, on the common-passwords list
const SHORT_PASSWORD = 'elevenchars'; // 11 characters
const UNICODE_PASSWORD = 'ünïcödé pässwörd'; // 16 characters, 24 bytes

const NAV = {
  'nav-clients': '/admin/clients',
  'nav-users': '/admin/users',
  'nav-roles': '/admin/roles',
  'nav-keys': '/admin/keys',
  'nav-audit': '/admin/audit',
};
const CSP = {
  'default-src': "'none'",
  'style-src': "'self'",
  'img-src': "'self'",
  'form-action': "'self'",
};

/** Another site (another origin on 127.0.0.1): serves whatever HTML is put in `pages`. */
async function startOtherSite() {
  const pages = new Map();
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (path === '/favicon.ico') return res.writeHead(204).end(); // the browser's own probe
    const html = pages.get(path);
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', res);
  });
  return { server, pages, origin: `http://127.0.0.1:${server.address().port}` };
}

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// ---------------------------------------------------------------------------------------

const { env, guarded, setUp, startServer, launchBrowser, tearDown, openPage, screenshot } =
  createSuite('gatehouse-admin-');

/**
 * Asserts that the page talked only to Gatehouse (and `otherOrigins`), broke no CSP rule,
 * and logged nothing but Chromium's "Failed to load resource" line for the HTTP error
 * statuses the test provoked on purpose (`statuses`) and Chromium's verbose DOM hints
 * (reported as diagnostics by the tests, not failures).
 */
function assertCleanPage(seen, { statuses = [], otherOrigins = [] } = {}) {
  const allowed = new Set([env.issuerOrigin, ...otherOrigins]);
  const foreign = seen.requests.filter((u) => !allowed.has(new URL(u).origin));
  assert.deepEqual(foreign, [], 'requests to origins other than the issuer');
  assert.deepEqual(seen.violations, [], 'CSP violations');
  const unexpected = seen.console.filter((line) => {
    if (line.startsWith('verbose: [DOM]')) return false;
    const m = /^error: Failed to load resource: the server responded with a status of (\d+) /.exec(line);
    return !(m && statuses.includes(Number(m[1])));
  });
  assert.deepEqual(unexpected, [], 'console messages');
  assert.deepEqual(seen.pageErrors, [], 'page errors');
}

const pathOf = (page) => new URL(page.url()).pathname;
const text = async (page, selector) => (await page.locator(selector).first().textContent())?.trim();

/** The statuses of a navigation's redirect chain, first request first, final response last. */
function statusChain(response) {
  const chain = [];
  for (let r = response?.request(); r; r = r.redirectedFrom()) chain.unshift(r);
  return Promise.all(chain.map(async (r) => (await r.response())?.status()));
}

/**
 * Opens /admin without a session (303 to /login?next=admin), signs in, and resolves with
 * the response the browser lands on (the dashboard for an admin, 403 for anyone else).
 */
async function signInThroughAdmin(page, username) {
  const login = await page.goto(`${env.issuer}/admin`);
  assert.deepEqual(await statusChain(login), [303, 200], 'GET /admin without a session: 303, then the login page');
  const url = new URL(page.url());
  assert.equal(url.pathname, '/login');
  assert.equal(url.searchParams.get('next'), 'admin', 'the login page is told to come back to /admin');
  const landed = await submitLogin(page, username, PASSWORD);
  assert.equal(pathOf(page), '/admin', 'after signing in with next=admin the browser is sent to /admin');
  return landed;
}

/** Parses a Content-Security-Policy header into { directive: value }. */
function parseCsp(header) {
  const out = {};
  for (const part of (header ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out[name.toLowerCase()] = values.join(' ');
  }
  return out;
}

/** What every console page promises: its CSP, no JavaScript, CSRF tokens in its forms, the nav. */
async function assertConsolePage(page, response, where) {
  assert.equal(response?.status(), 200, `${where}: status`);
  const csp = parseCsp((await response.allHeaders())['content-security-policy']);
  for (const [directive, value] of Object.entries(CSP)) {
    assert.equal(csp[directive], value, `${where}: CSP ${directive} (whole policy: ${JSON.stringify(csp)})`);
  }
  const facts = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script').length,
    handlers: [...document.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName}[${a.name}]`),
    ),
    postFormsWithoutToken: [...document.querySelectorAll('form')]
      .filter((f) => f.method === 'post')
      .filter((f) => {
        const t = f.querySelector('input[name=csrf_token]');
        return !t || t.type !== 'hidden' || !t.value;
      })
      .map((f) => f.id || f.action),
    nav: Object.fromEntries(
      [...document.querySelectorAll('a[id^=nav-]')].map((a) => [a.id, new URL(a.href).pathname]),
    ),
  }));
  assert.equal(facts.scripts, 0, `${where}: no <script>`);
  assert.deepEqual(facts.handlers, [], `${where}: no inline event handlers`);
  assert.deepEqual(facts.postFormsWithoutToken, [], `${where}: POST forms without a hidden csrf_token`);
  for (const [id, path] of Object.entries(NAV)) {
    assert.equal(facts.nav[id], path, `${where}: a#${id} links to ${path}`);
  }
}

/** The names in the client list (table#clients a.client-link). */
const clientNames = (page) => page.locator('table#clients a.client-link').allTextContents().then((l) => l.map((s) => s.trim()));

/** A textarea's lines, without blank ones. */
const lines = (s) => s.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);

describe('Gatehouse admin console in Chromium', () => {
  before(async () => {
    setUp();

    env.other = await startOtherSite();

    const port = await freePort();
    env.issuer = `http://127.0.0.1:${port}`;
    env.issuerOrigin = new URL(env.issuer).origin;
    env.binEnv = gatehouseEnv(env.issuer, env.tmp, { GATEHOUSE_SIGNUP: 'true' });

    for (const username of Object.values(ADMINS)) {
      await runCli(['admin', 'create', username, '--password-stdin', '--email', `${username}@example.com`], {
        cwd: env.tmp,
        env: env.binEnv,
        input: `${PASSWORD}\n`,
      });
    }
    await runCli(['user', 'create', NON_ADMIN, '--password-stdin', '--email', `${NON_ADMIN}@example.com`], {
      cwd: env.tmp,
      env: env.binEnv,
      input: `${PASSWORD}\n`,
    });

    await startServer(env.binEnv);
    await launchBrowser();
  });

  after(() => tearDown(env.other?.server));

  test('an admin creates, edits, re-keys and deletes a client, and the audit log shows it', guarded(async (t) => {
    const { context, page, seen } = await openPage();
    try {
      const dashboard = await signInThroughAdmin(page, ADMINS.clients);
      await assertConsolePage(page, dashboard, '/admin');
      assert.equal(await text(page, 'h1'), 'Administration');

      // The list, and the create form.
      let res = await clickAndWait(page, 'a#nav-clients');
      assert.equal(pathOf(page), '/admin/clients');
      await assertConsolePage(page, res, '/admin/clients');
      assert.equal(await text(page, 'h1'), 'Clients');
      assert.equal(await page.locator('form#search').getAttribute('method').then((m) => (m ?? 'get').toLowerCase()), 'get', 'the search form uses GET');
      await page.locator('form#search input[name=search]').waitFor({ state: 'attached' });
      await page.locator('table#clients').waitFor({ state: 'attached' });

      const name = `Console App ${Date.now()}`;
      const form = 'form#create-client';
      await page.fill(`${form} input[name=client_name]`, name);
      await page.fill(`${form} textarea[name=redirect_uris]`, 'https://app.example/cb');
      await page.fill(`${form} input[name=scope]`, 'openid profile email');
      await page.selectOption(`${form} select[name=token_endpoint_auth_method]`, 'client_secret_basic');
      await page.selectOption(`${form} select[name=application_type]`, 'web');
      res = await clickAndWait(page, 'button#create-client-submit');
      assert.ok(res && res.status() >= 200 && res.status() < 300, `create answers 2xx, got ${res?.status()}`);
      assert.equal(await text(page, 'h1'), 'Client created');
      const clientId = await text(page, 'code#client-id');
      const secret = await text(page, 'code#client-secret');
      assert.ok(clientId, 'code#client-id is not empty');
      assert.ok(secret, 'code#client-secret is not empty');
      t.diagnostic(`created: ${await screenshot(page, 'client-created.png')}`);

      // The client page: never the secret.
      res = await clickAndWait(page, 'a#client-page');
      const clientPath = `/admin/clients/${encodeURIComponent(clientId)}`;
      assert.equal(pathOf(page), clientPath);
      await assertConsolePage(page, res, clientPath);
      assert.equal(await text(page, 'h1'), name);
      assert.equal(await text(page, 'code#client-id'), clientId);
      assert.ok(!(await page.content()).includes(secret), 'the client page does not contain the secret');
      assert.deepEqual(lines(await page.inputValue('form#edit-client textarea[name=redirect_uris]')), ['https://app.example/cb']);
      for (const field of ['input[name=client_name]', 'textarea[name=post_logout_redirect_uris]', 'input[name=scope]',
        'input[name=logo_uri]', 'input[name=policy_uri]', 'input[name=tos_uri]']) {
        await page.locator(`form#edit-client ${field}`).waitFor({ state: 'attached' });
      }

      // Edit: two redirect URIs (the browser sends the textarea's lines joined by CRLF).
      await page.fill('form#edit-client textarea[name=redirect_uris]', 'https://app.example/cb2\nhttps://app.example/cb3');
      res = await clickAndWait(page, 'button#save-client');
      assert.deepEqual(await statusChain(res), [303, 200], 'saving: 303 back to the client page');
      assert.equal(pathOf(page), clientPath);
      assert.equal(await text(page, 'p.notice'), 'Saved.');
      assert.deepEqual(
        lines(await page.inputValue('form#edit-client textarea[name=redirect_uris]')),
        ['https://app.example/cb2', 'https://app.example/cb3'],
      );
      t.diagnostic(`saved: ${await screenshot(page, 'client-saved.png')}`);

      // A new secret, shown once.
      res = await clickAndWait(page, 'button#rotate-secret-submit');
      assert.ok(res && res.status() >= 200 && res.status() < 300, `rotate answers 2xx, got ${res?.status()}`);
      const secret2 = await text(page, 'code#client-secret');
      assert.ok(secret2, 'the new secret is shown');
      assert.notEqual(secret2, secret, 'the new secret differs from the first');
      res = await page.goto(`${env.issuer}${clientPath}`);
      assert.equal(res?.status(), 200);
      const html = await page.content();
      assert.ok(!html.includes(secret) && !html.includes(secret2), 'the client page contains neither secret');

      // Delete.
      res = await clickAndWait(page, 'button#delete-client-submit');
      assert.equal(pathOf(page), '/admin/clients', 'deleting lands on the client list');
      assert.equal(res?.status(), 200);
      assert.equal(await text(page, 'p.notice'), 'Client deleted.');
      assert.ok(!(await clientNames(page)).includes(name), 'the deleted client is no longer listed');
      const gone = await context.request.get(`${env.issuer}${clientPath}`, { maxRedirects: 0 });
      t.diagnostic(`GET ${clientPath} after delete: ${gone.status()}`);

      // The audit log, newest first.
      res = await clickAndWait(page, 'a#nav-audit');
      assert.equal(pathOf(page), '/admin/audit');
      await assertConsolePage(page, res, '/admin/audit');
      const headers = (await page.locator('table#audit th').allTextContents()).map((h) => h.trim());
      t.diagnostic(`audit columns: ${JSON.stringify(headers)}`);
      const rows = await page.$$eval('table#audit tr', (trs) =>
        trs.filter((tr) => tr.querySelector('td')).map((tr) => [...tr.cells].map((c) => c.textContent.trim())),
      );
      const ours = rows.filter((r) => r.some((c) => c.includes(clientId)));
      t.diagnostic(`audit rows naming the client: ${JSON.stringify(ours)}`);
      const actions = ['client.create', 'client.update', 'client.rotate_secret', 'client.delete'];
      const where = (list, action) => list.findIndex((r) => r.includes(action));
      for (const action of actions) {
        assert.ok(where(rows, action) >= 0, `the audit log lists ${action}: ${JSON.stringify(rows.slice(0, 10))}`);
      }
      const order = ours.length ? ours : rows;
      const positions = actions.map((a) => where(order, a));
      assert.deepEqual([...positions].sort((a, b) => b - a), positions, `newest first: ${actions} at rows ${positions}`);
      t.diagnostic(`audit: ${await screenshot(page, 'audit.png')}`);

      assertCleanPage(seen);
    } finally {
      await context.close();
    }
  }));

  test('a non-admin gets 403, and a form posted without its CSRF token is refused', guarded(async (t) => {
    const visitor = await openPage();
    const admin = await openPage();
    try {
      // A signed-in user without the role admin.
      const landed = await signInThroughAdmin(visitor.page, NON_ADMIN);
      assert.equal(landed?.status(), 403, '/admin for a non-admin');
      assert.equal(await text(visitor.page, 'h1'), 'Not an administrator');
      for (const path of ['/admin', '/admin/clients', '/admin/users']) {
        const res = await visitor.page.goto(`${env.issuer}${path}`);
        assert.equal(res?.status(), 403, `${path} for a non-admin`);
        assert.equal(await text(visitor.page, 'h1'), 'Not an administrator', `${path}: h1`);
      }
      t.diagnostic(`403: ${await screenshot(visitor.page, 'not-admin.png')}`);

      // An admin's list, and where the create form posts.
      await signInThroughAdmin(admin.page, ADMINS.csrf);
      await admin.page.goto(`${env.issuer}/admin/clients`);
      const before = await clientNames(admin.page);
      const action = await admin.page.$eval('form#create-client', (f) => f.action);
      assert.equal(new URL(action).origin, env.issuerOrigin);
      const fields = (name) => ({
        client_name: name,
        redirect_uris: 'https://forged.example/cb',
        scope: 'openid',
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'web',
      });
      const post = (ctx, form) =>
        ctx.request.post(action, { form, headers: { origin: env.issuerOrigin }, maxRedirects: 0 });

      // The admin's own cookies, no token / a wrong token; and the non-admin's cookies.
      let res = await post(admin.context, fields('Forged without token'));
      assert.equal(res.status(), 403, 'POST without csrf_token, admin session');
      res = await post(admin.context, { ...fields('Forged wrong token'), csrf_token: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      assert.equal(res.status(), 403, 'POST with a wrong csrf_token, admin session');
      res = await post(visitor.context, fields('Forged by non-admin'));
      assert.equal(res.status(), 403, 'POST without csrf_token, non-admin session');

      // A real browser form on another origin (same site: the Lax cookie goes along).
      env.other.pages.set('/forge', `<!doctype html><meta charset="utf-8"><title>forge</title>
<form method="post" action="${escapeHtml(action)}">${Object.entries(fields('Forged cross-origin'))
        .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('')}
<button type="submit" id="go">Go</button></form>`);
      await admin.page.goto(`${env.other.origin}/forge`);
      res = await clickAndWait(admin.page, 'button#go');
      assert.equal(res?.status(), 403, 'a cross-origin form post without csrf_token');

      await admin.page.goto(`${env.issuer}/admin/clients`);
      const afterwards = await clientNames(admin.page);
      assert.deepEqual(afterwards, before, 'nothing was created');

      // Control: the same request with the page's token is accepted, so the refusals above
      // were about the token and not the request's shape.
      const token = await admin.page.$eval('form#create-client input[name=csrf_token]', (i) => i.value);
      res = await post(admin.context, { ...fields('Posted with token'), csrf_token: token });
      assert.ok(res.status() >= 200 && res.status() < 400, `POST with the right token: ${res.status()}`);
      await admin.page.goto(`${env.issuer}/admin/clients`);
      assert.ok((await clientNames(admin.page)).includes('Posted with token'), 'the control request created its client');

      assertCleanPage(visitor.seen, { statuses: [403] });
      assertCleanPage(admin.seen, { statuses: [403], otherOrigins: [env.other.origin] });
    } finally {
      await visitor.context.close();
      await admin.context.close();
    }
  }));

  test('on a phone (390x844) every console page fits the screen and inputs do not zoom', guarded(async (t) => {
    const { context, page, seen } = await openPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 3,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const dashboard = await signInThroughAdmin(page, ADMINS.phone);
      for (const [id, path] of [[null, '/admin'], ...Object.entries(NAV)]) {
        // The dashboard is where signing in lands; the others are reached through the nav.
        const res = id ? await clickAndWait(page, `a#${id}`) : dashboard;
        assert.equal(pathOf(page), path, `${id ? `a#${id}` : 'signing in'} leads to ${path}`);

        await assertConsolePage(page, res, path);
        const layout = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        t.diagnostic(`${path}: ${JSON.stringify(layout)} ${await screenshot(page, `phone${path.replaceAll('/', '-')}.png`)}`);
        assert.equal(layout.innerWidth, 390, `${path}: device-width layout`);
        assert.ok(layout.scrollWidth <= layout.innerWidth, `${path} scrolls horizontally: scrollWidth ${layout.scrollWidth} > ${layout.innerWidth}`);

        if (path === '/admin/clients') {
          const small = await page.$$eval('input:not([type=hidden]), select, textarea, button', (els) =>
            els
              .map((el) => ({
                el: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.name ? `[name=${el.name}]` : ''}`,
                size: parseFloat(getComputedStyle(el).fontSize),
              }))
              .filter((x) => x.size < 16),
          );
          assert.deepEqual(small, [], 'form controls on /admin/clients with a computed font-size under 16px (iOS zooms into them)');
        }
      }
      // What each page is for is there.
      await page.goto(`${env.issuer}/admin/users`);
      await page.locator('table#users').waitFor({ state: 'attached' });
      await page.locator('form#create-user').waitFor({ state: 'attached' });
      await page.goto(`${env.issuer}/admin/roles`);
      for (const sel of ['form#create-role', 'form#create-group', 'table#roles', 'table#groups']) {
        await page.locator(sel).waitFor({ state: 'attached' });
      }
      await page.goto(`${env.issuer}/admin/keys`);
      await page.locator('table#keys').waitFor({ state: 'attached' });
      const algs = await page.$$eval('form#rotate-key select[name=alg] option', (os) => os.map((o) => o.value));
      assert.deepEqual([...algs].sort(), ['ES256', 'RS256']);
      await page.locator('form#create-registration-token').waitFor({ state: 'attached' });
      await page.goto(`${env.issuer}/admin/audit`);
      await page.locator('table#audit').waitFor({ state: 'attached' });

      assertCleanPage(seen);
    } finally {
      await context.close();
    }
  }));

  test('an admin creates a user (a common password is refused) who can then sign in', guarded(async (t) => {
    const admin = await openPage();
    const user = await openPage();
    try {
      await signInThroughAdmin(admin.page, ADMINS.users);
      let res = await clickAndWait(admin.page, 'a#nav-users');
      assert.equal(pathOf(admin.page), '/admin/users');
      await assertConsolePage(admin.page, res, '/admin/users');

      const username = `grace${Date.now()}`;
      const form = 'form#create-user';
      const fill = async (password) => {
        await admin.page.fill(`${form} input[name=username]`, username);
        await admin.page.fill(`${form} input[name=password]`, password);
        await admin.page.fill(`${form} input[name=email]`, `${username}@example.com`);
        await admin.page.fill(`${form} input[name=name]`, 'Grace Hopper');
        await admin.page.setChecked(`${form} input[name=admin]`, false);
      };
      await fill(COMMON_PASSWORD);
      res = await clickAndWait(admin.page, 'button#create-user-submit');
      assert.equal(res?.status(), 400, 'a common password');
      assert.ok(await text(admin.page, 'p.error'), 'p.error says why');
      t.diagnostic(`common password: ${await text(admin.page, 'p.error')} ${await screenshot(admin.page, 'user-common-password.png')}`);

      await fill(PASSWORD);
      res = await clickAndWait(admin.page, 'button#create-user-submit');
      assert.deepEqual(await statusChain(res), [303, 200], 'creating: 303 to the user page');
      assert.match(pathOf(admin.page), /^\/admin\/users\/[^/]+$/);
      const userPath = pathOf(admin.page);
      await assertConsolePage(admin.page, res, userPath);
      assert.equal(await text(admin.page, 'h1'), username);
      // The spec's parts of a user page; collected, so that one missing part does not hide
      // the rest of the test, and asserted at the end.
      const missing = [];
      for (const sel of ['form#disable-user', 'form#reset-password input[name=password]', 'form#delete-user',
        'table#sessions', 'table#grants', 'form#assign-role select[name=role]', 'form#add-group select[name=group]']) {
        if ((await admin.page.locator(sel).count()) === 0) missing.push(sel);
      }
      assert.equal(await admin.page.locator('form#enable-user').count(), 0, 'an enabled user has no enable form');
      t.diagnostic(`user page: ${await screenshot(admin.page, 'user-page.png')}`);

      await admin.page.goto(`${env.issuer}/admin/users`);
      const listed = (await admin.page.locator('table#users a.user-link').allTextContents()).map((s) => s.trim());
      assert.ok(listed.includes(username), 'the new user is listed');

      // The new account signs in, in a fresh context, and is not an admin.
      await user.page.goto(`${env.issuer}/login`);
      res = await submitLogin(user.page, username, PASSWORD);
      assert.equal(pathOf(user.page), '/', 'signed in: sent to /');
      assert.equal(res?.status(), 200);
      res = await user.page.goto(`${env.issuer}/admin`);
      assert.equal(res?.status(), 403, 'the admin box was unchecked');

      for (const hint of admin.seen.console.filter((l) => l.startsWith('verbose: [DOM]'))) t.diagnostic(`Chromium: ${hint}`);
      assertCleanPage(admin.seen, { statuses: [400] });
      assertCleanPage(user.seen, { statuses: [403] });
      assert.deepEqual(missing, [], `parts of ${userPath} missing (no group exists at this point)`);
    } finally {
      await admin.context.close();
      await user.context.close();
    }
  }));

  test('sign-up refuses short and common passwords and signs a new user in', guarded(async (t) => {
    const { context, page, seen } = await openPage();
    const again = await openPage();
    try {
      await page.goto(`${env.issuer}/login`);
      let res = await clickAndWait(page, 'a#signup-link');
      assert.equal(pathOf(page), '/signup');
      assert.equal(res?.status(), 200);
      const form = 'form#signup';
      const username = `heidi${Date.now()}`;
      const fill = async (password) => {
        await page.fill(`${form} input[name=username]`, username);
        await page.fill(`${form} input[name=email]`, `${username}@example.com`);
        await page.fill(`${form} input[name=password]`, password);
      };

      for (const [what, password] of [['a short password', SHORT_PASSWORD], ['a common password', COMMON_PASSWORD]]) {
        await fill(password);
        // The password field may carry minlength, and then Chromium itself refuses to send a
        // short one; switch that off to see the server's own answer.
        const blocked = await page.$eval(form, (f) => {
          const invalid = !f.checkValidity();
          f.noValidate = true;
          return invalid;
        });
        t.diagnostic(`${what}: the browser's own validation ${blocked ? 'blocks' : 'lets through'} the form`);
        res = await clickAndWait(page, `${form} button[type=submit]`);
        assert.equal(res?.status(), 400, what);
        assert.ok(await text(page, 'p.error'), `${what}: p.error says why`);
        t.diagnostic(`${what}: ${await text(page, 'p.error')}`);
      }

      await fill(UNICODE_PASSWORD);
      res = await clickAndWait(page, `${form} button[type=submit]`);
      assert.deepEqual(await statusChain(res), [303, 200], 'signing up: 303 to /');
      assert.equal(pathOf(page), '/');
      t.diagnostic(`signed up: ${await screenshot(page, 'signed-up.png')}`);
      // Signed in (no redirect to /login), and not an admin.
      res = await page.goto(`${env.issuer}/admin`);
      assert.equal(res?.status(), 403, '/admin for the new account');
      assert.equal(pathOf(page), '/admin');
      assert.equal(await text(page, 'h1'), 'Not an administrator');

      // The Unicode password was stored as typed: it signs in again in a fresh context.
      await again.page.goto(`${env.issuer}/login`);
      await again.page.fill('#username', username);
      await again.page.fill('#password', UNICODE_PASSWORD);
      res = await clickAndWait(again.page, 'form button[type=submit]');
      assert.equal(pathOf(again.page), '/', 'the Unicode password signs in');

      assertCleanPage(seen, { statuses: [400, 403] });
      assertCleanPage(again.seen);
    } finally {
      await context.close();
      await again.context.close();
    }
  }));

  test('without GATEHOUSE_SIGNUP there is no sign-up page', guarded(async () => {
    const dir = join(env.tmp, 'no-signup');
    mkdirSync(dir, { recursive: true });
    const issuer = `http://127.0.0.1:${await freePort()}`;
    const { child } = await startGatehouse({ cwd: dir, env: gatehouseEnv(issuer, dir) });
    const { context, page } = await openPage();
    try {
      const res = await page.goto(`${issuer}/signup`);
      assert.equal(res?.status(), 404, '/signup without the setting');
      await page.goto(`${issuer}/login`);
      assert.equal(await page.locator('a#signup-link').count(), 0, 'no sign-up link on the login page');
    } finally {
      await context.close();
      await stopGatehouse(child);
    }
  }));
});
