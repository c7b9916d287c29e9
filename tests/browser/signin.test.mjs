// Headless-browser test of Gatehouse's sign-in and consent pages.
//
// Drives Debian's `chromium` (/usr/bin/chromium, or CHROMIUM_PATH) with playwright-core
// against the already built `gatehouse` binary (GATEHOUSE_BIN, default
// ../../target/debug/gatehouse from this file). Everything runs on 127.0.0.1: the server,
// and a tiny node:http server standing in for the client's redirect target.
//
//   cd tests/browser && npm ci && npm test
//
// Screenshots go to GATEHOUSE_SCREENSHOTS (default: the run's temporary directory, which
// is removed after a passing run unless GATEHOUSE_KEEP_TMP=1, and kept after a failing one).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(HERE, process.env.GATEHOUSE_BIN ?? '../../target/debug/gatehouse');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// One user per test: consent is remembered per user and client, so a user who has allowed
// the client once is not asked again, and the tests must not depend on their order.
const USERS = { allow: 'alice', deny: 'bob' };
const PASSWORD = 'correct horse battery staple';
const CLIENT_NAME = 'Browser Test App';
const SCOPES = ['openid', 'profile', 'email'];

// Every wait is bounded.
const CLI_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A port that was free a moment ago (for the server, which takes its address from the issuer). */
function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Rejects after `ms` with `what` in the message, unless `promise` settles first. */
function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The environment for the binary: ours, with no GATEHOUSE_* leaking in from the caller. */
function serverEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Runs a gatehouse CLI command to completion; resolves with stdout, rejects on failure. */
function runCli(args, { cwd, env, input }) {
  const child = spawn(BIN, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input ?? '');
  const done = new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => {
      if (code === 0) res(stdout);
      else rej(new Error(`gatehouse ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim()}`));
    });
  });
  return within(CLI_TIMEOUT_MS, `gatehouse ${args.join(' ')}`, done).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
}

/** The stand-in client: records every query that reaches /callback, answers 200 "ok". */
async function startRedirectTarget() {
  const hits = [];
  const waiters = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/callback') {
      const query = Object.fromEntries(url.searchParams);
      hits.push(query);
      for (const w of waiters.splice(0)) w(query);
    }
    res.writeHead(url.pathname === '/callback' ? 200 : 404, {
      'content-type': 'text/plain; charset=utf-8',
    });
    res.end(url.pathname === '/callback' ? 'ok' : 'not found');
  });
  await new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', res);
  });
  const { port } = server.address();
  return {
    server,
    port,
    hits,
    /** The next /callback query after `count` hits have been recorded. */
    nextHit(count) {
      if (hits.length > count) return Promise.resolve(hits[count]);
      return within(STEP_TIMEOUT_MS, 'a request to the redirect target', new Promise((r) => waiters.push(r)));
    },
  };
}

/** Starts `gatehouse serve` and resolves once it logs "is listening". */
async function startGatehouse({ cwd, env }) {
  const child = spawn(BIN, ['serve'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const lines = createInterface({ input: child.stderr });
  const stdoutLines = createInterface({ input: child.stdout });
  stdoutLines.on('line', (l) => log.push(l));
  const ready = new Promise((res, rej) => {
    lines.on('line', (line) => {
      log.push(line);
      if (line.includes('is listening')) res();
    });
    child.on('error', rej);
    child.on('exit', (code, signal) =>
      rej(new Error(`gatehouse serve exited early (${code ?? signal}):\n${log.join('\n')}`)),
    );
  });
  try {
    await within(START_TIMEOUT_MS, 'gatehouse serve to log "is listening"', ready);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return { child, log };
}

/** Stops the server: SIGTERM (it drains and exits), SIGKILL if it takes too long. */
async function stopGatehouse(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGTERM');
  try {
    await within(STOP_TIMEOUT_MS, 'gatehouse serve to stop', exited);
  } catch {
    child.kill('SIGKILL');
    await within(STOP_TIMEOUT_MS, 'gatehouse serve to die', exited).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------

const env = {};
let failed = false;

/** Runs a test body, remembering failures so that the temporary directory is kept. */
const guarded = (fn) => async (t) => {
  try {
    await fn(t);
  } catch (e) {
    failed = true;
    if (env.serverLog) t.diagnostic(`server log so far:\n${env.serverLog.slice(-40).join('\n')}`);
    throw e;
  }
};

/** A fresh browser context whose page records its requests, console output and CSP reports. */
async function openPage(contextOptions = {}) {
  const context = await env.browser.newContext({ colorScheme: 'light', ...contextOptions });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const seen = { requests: [], console: [], violations: [], pageErrors: [], violationWaiters: [] };
  // A listener in every document reports CSP violations through a binding; bindings and
  // init scripts are injected by the DevTools protocol, which the page's CSP does not govern.
  await context.exposeBinding('__gatehouseCspViolation', (_source, v) => {
    seen.violations.push(v);
    for (const w of seen.violationWaiters.splice(0)) w(v);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      globalThis.__gatehouseCspViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        document: e.documentURI,
        sample: e.sample,
      });
    });
  });
  const page = await context.newPage();
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('console', (m) => seen.console.push(`${m.type()}: ${m.text()} (${m.location().url})`));
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  return { context, page, seen };
}

/**
 * Chromium logs every HTTP error status as a console error. Two are expected and not a fault
 * of the pages: the browser's own /favicon.ico probe of the stand-in client (Gatehouse serves
 * its icon), and the deliberate 401 answer to a wrong password.
 */
function expectedConsole(line, { wrongPasswordAt }) {
  const m = /^error: Failed to load resource: the server responded with a status of (\d+) .*\((.*)\)$/.exec(line);
  if (!m) return false;
  const [, status, url] = m;
  const u = new URL(url);
  if (status === '404' && u.pathname === '/favicon.ico' && u.origin === env.redirectOrigin) return true;
  return status === '401' && wrongPasswordAt !== undefined && url === wrongPasswordAt;
}

/** Asserts that the page talked only to Gatehouse and the client, and that nothing complained. */
function assertCleanPage(seen, { wrongPasswordAt } = {}) {
  const allowed = new Set([env.issuerOrigin, env.redirectOrigin]);
  const foreign = seen.requests.filter((u) => !allowed.has(new URL(u).origin));
  assert.deepEqual(foreign, [], 'requests to origins other than the issuer and the client');
  assert.deepEqual(seen.violations, [], 'CSP violations');
  const unexpected = seen.console.filter((l) => !expectedConsole(l, { wrongPasswordAt }));
  assert.deepEqual(unexpected, [], 'console messages');
  assert.deepEqual(seen.pageErrors, [], 'page errors');
}

/** A fresh authorization request with PKCE: its URL, state, nonce and verifier. */
function authorizationRequest() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const url = new URL('/authorize', env.issuer);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: env.clientId,
    redirect_uri: env.redirectUri,
    scope: SCOPES.join(' '),
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return { url: url.href, state, nonce, verifier };
}

async function screenshot(page, name) {
  const path = join(env.screenshots, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

async function submitLogin(page, username, password) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click('form button[type=submit]'),
  ]);
  return response;
}

describe('Gatehouse sign-in pages in Chromium', () => {
  before(async () => {
    assert.ok(existsSync(BIN), `no gatehouse binary at ${BIN} (set GATEHOUSE_BIN)`);
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);

    env.tmp = mkdtempSync(join(tmpdir(), 'gatehouse-browser-'));
    env.screenshots = resolve(process.env.GATEHOUSE_SCREENSHOTS ?? env.tmp);
    mkdirSync(env.screenshots, { recursive: true });

    env.target = await startRedirectTarget();
    env.redirectOrigin = `http://127.0.0.1:${env.target.port}`;
    env.redirectUri = `${env.redirectOrigin}/callback`;

    const port = await freePort();
    env.issuer = `http://127.0.0.1:${port}`;
    env.issuerOrigin = new URL(env.issuer).origin;
    const binEnv = serverEnv({
      GATEHOUSE_ISSUER: env.issuer,
      GATEHOUSE_DATABASE_URL: `sqlite://${join(env.tmp, 'gatehouse.db')}`,
      GATEHOUSE_KEYS_DIR: join(env.tmp, 'keys'),
    });

    for (const username of Object.values(USERS)) {
      await runCli(['user', 'create', username, '--password-stdin', '--email', `${username}@example.com`], {
        cwd: env.tmp,
        env: binEnv,
        input: `${PASSWORD}\n`,
      });
    }
    const client = JSON.parse(
      await runCli(['client', 'create', '--name', CLIENT_NAME, '--redirect-uri', env.redirectUri, '--json'], {
        cwd: env.tmp,
        env: binEnv,
      }),
    );
    assert.ok(client.client_id && client.client_secret, 'client create --json gives id and secret');
    env.clientId = client.client_id;
    env.clientSecret = client.client_secret;

    const server = await startGatehouse({ cwd: env.tmp, env: binEnv });
    env.server = server.child;
    env.serverLog = server.log;

    env.browser = await chromium.launch({
      executablePath: CHROMIUM,
      // playwright-core adds its own --headless and --user-data-dir (a fresh temporary one).
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: START_TIMEOUT_MS,
    });
  });

  after(async () => {
    await env.browser?.close().catch(() => {});
    await stopGatehouse(env.server);
    await new Promise((r) => (env.target ? env.target.server.close(r) : r()));
    env.target?.server.closeAllConnections?.();
    if (env.tmp) {
      if (failed || process.env.GATEHOUSE_KEEP_TMP === '1') {
        console.log(`kept ${env.tmp} (server database, keys${env.screenshots === env.tmp ? ', screenshots' : ''})`);
      } else {
        rmSync(env.tmp, { recursive: true, force: true });
      }
    }
  });

  test('sign in (after one wrong password), consent, and exchange the code', guarded(async (t) => {
    const { context, page, seen } = await openPage({ viewport: { width: 1280, height: 800 } });
    try {
      const req = authorizationRequest();

      const login = await page.goto(req.url);
      assert.ok(login, 'navigation response');
      assert.equal(login.status(), 200);
      assert.equal(new URL(page.url()).origin, env.issuerOrigin);
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.match(await page.title(), /^Sign in\b/);
      assert.equal((await page.textContent('h1'))?.trim(), 'Sign in');
      assert.equal((await page.textContent('.lead strong'))?.trim(), CLIENT_NAME);

      const headers = await login.allHeaders();
      assert.ok(headers['content-security-policy'], 'login page has a CSP');
      assert.match(headers['content-security-policy'], /(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
      assert.equal(headers['x-frame-options'], 'DENY');

      // The stylesheet loaded and applied (not blocked by the CSP).
      const bg = await page.evaluate(() => getComputedStyle(document.querySelector('button[type=submit]')).backgroundColor);
      assert.equal(bg, 'rgb(36, 86, 211)', 'the submit button has the accent colour from gatehouse.css');

      t.diagnostic(`login page: ${await screenshot(page, 'login.png')}`);

      const wrong = await submitLogin(page, USERS.allow, 'not the password at all');
      assert.equal(wrong?.status(), 401);
      assert.equal(new URL(page.url()).pathname, '/login');
      const alert = page.locator('.error[role=alert]');
      await alert.waitFor({ state: 'visible' });
      assert.equal((await alert.textContent())?.trim(), 'Wrong username or password.');
      assert.equal(await page.inputValue('#username'), USERS.allow, 'the username is kept');
      assert.equal(await page.inputValue('#password'), '', 'the password is not echoed back');
      assert.equal((await page.textContent('.lead strong'))?.trim(), CLIENT_NAME);
      t.diagnostic(`wrong password: ${await screenshot(page, 'login-error.png')}`);

      const consent = await submitLogin(page, USERS.allow, PASSWORD);
      assert.equal(consent?.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/consent');
      const consentHeaders = await consent.allHeaders();
      assert.match(consentHeaders['content-security-policy'] ?? '', /frame-ancestors 'none'/);
      assert.equal(consentHeaders['x-frame-options'], 'DENY');
      assert.match(await page.title(), /^Allow access\b/);
      assert.equal((await page.textContent('h1'))?.trim(), 'Allow access?');
      assert.equal((await page.textContent('.lead strong'))?.trim(), CLIENT_NAME);
      const listed = await page.locator('ul.scopes li code').allTextContents();
      assert.deepEqual([...listed].sort(), [...SCOPES].sort(), 'requested scopes are listed');
      assert.match(await page.textContent('.muted'), new RegExp(`Signed in as ${USERS.allow}\\b`));
      t.diagnostic(`consent page: ${await screenshot(page, 'consent.png')}`);

      const hits = env.target.hits.length;
      const callback = env.target.nextHit(hits);
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(env.redirectUri)),
        page.click('button[name=decision][value=allow]'),
      ]);
      const query = await callback;
      assert.equal((await page.textContent('body'))?.trim(), 'ok');
      assert.ok(query.code, 'the redirect carries a code');
      assert.equal(query.state, req.state);
      assert.equal(query.iss, env.issuer);
      assert.equal(query.error, undefined);

      assertCleanPage(seen, { wrongPasswordAt: `${env.issuer}/login` });

      const basic = Buffer.from(
        `${encodeURIComponent(env.clientId)}:${encodeURIComponent(env.clientSecret)}`,
      ).toString('base64');
      const res = await fetch(new URL('/token', env.issuer), {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: query.code,
          redirect_uri: env.redirectUri,
          code_verifier: req.verifier,
        }),
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `token response: ${text}`);
      const tokens = JSON.parse(text);
      assert.equal(typeof tokens.id_token, 'string');
      assert.ok(tokens.access_token, 'an access token');
      assert.match(tokens.token_type, /^bearer$/i);
      const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
      assert.equal(claims.iss, env.issuer);
      assert.equal(claims.nonce, req.nonce);
      assert.ok(claims.aud === env.clientId || (Array.isArray(claims.aud) && claims.aud.includes(env.clientId)));
      assert.ok(claims.sub, 'the ID token names its subject');
    } finally {
      await context.close();
    }
  }));

  test('denying consent sends access_denied back to the client', guarded(async (t) => {
    const { context, page, seen } = await openPage({ viewport: { width: 1280, height: 800 } });
    try {
      const req = authorizationRequest();
      await page.goto(req.url);
      // A fresh context has no session: it must sign in again.
      assert.equal(new URL(page.url()).pathname, '/login');
      const consent = await submitLogin(page, USERS.deny, PASSWORD);
      assert.equal(consent?.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/consent');

      const hits = env.target.hits.length;
      const callback = env.target.nextHit(hits);
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(env.redirectUri)),
        page.click('button[name=decision][value=deny]'),
      ]);
      const query = await callback;
      assert.equal(query.error, 'access_denied');
      assert.equal(query.state, req.state);
      assert.equal(query.iss, env.issuer);
      assert.equal(query.code, undefined, 'no code after a refusal');
      assertCleanPage(seen);
    } finally {
      await context.close();
    }
  }));

  test('the login page fits a phone screen (390x844) without horizontal scrolling', guarded(async (t) => {
    const { context, page, seen } = await openPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      await page.goto(authorizationRequest().url);
      assert.equal(new URL(page.url()).pathname, '/login');
      const layout = await page.evaluate(() => {
        const box = (sel) => {
          const r = document.querySelector(sel).getBoundingClientRect();
          return { left: r.left, right: r.right, width: r.width };
        };
        return {
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          innerWidth: window.innerWidth,
          card: box('main.card'),
          form: box('form'),
          username: box('#username'),
          password: box('#password'),
          button: box('button[type=submit]'),
        };
      });
      t.diagnostic(`phone layout: ${JSON.stringify(layout)}`);
      assert.equal(layout.innerWidth, 390, 'the viewport meta tag gives a device-width layout');
      assert.ok(layout.scrollWidth <= 390, `scrollWidth ${layout.scrollWidth} > 390`);
      for (const part of ['card', 'form', 'username', 'password', 'button']) {
        assert.ok(layout[part].left >= 0 && layout[part].right <= 390, `${part} lies within the screen: ${JSON.stringify(layout[part])}`);
      }
      assert.ok(layout.button.width >= 200, 'the button is comfortably wide');
      t.diagnostic(`phone: ${await screenshot(page, 'login-phone.png')}`);

      await page.emulateMedia({ colorScheme: 'dark' });
      t.diagnostic(`phone, dark: ${await screenshot(page, 'login-phone-dark.png')}`);
      assertCleanPage(seen);

      // The CSP is enforced and the violation listener works: an inline style attribute is
      // refused (style-src 'self' has no 'unsafe-inline'), and reported.
      const reported = new Promise((r) => seen.violationWaiters.push(r));
      await page.evaluate(() => document.body.setAttribute('style', 'outline: 1px solid red'));
      await within(STEP_TIMEOUT_MS, 'a CSP violation report', reported);
      assert.ok(
        seen.violations.some((v) => v.directive.startsWith('style-src')),
        `an inline style is refused and reported: ${JSON.stringify(seen.violations)}`,
      );
    } finally {
      await context.close();
    }
  }));
});
