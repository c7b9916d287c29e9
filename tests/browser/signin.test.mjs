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
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import {
  PASSWORD,
  STEP_TIMEOUT_MS,
  createSuite,
  freePort,
  gatehouseEnv,
  runCli,
  submitLogin,
  within,
} from './support.mjs';

// One user per test: consent is remembered per user and client, so a user who has allowed
// the client once is not asked again, and the tests must not depend on their order.
const USERS = { allow: 'alice', deny: 'bob' };
const CLIENT_NAME = 'Browser Test App';
const SCOPES = ['openid', 'profile', 'email'];

const b64url = (buf) => Buffer.from(buf).toString('base64url');

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

// ---------------------------------------------------------------------------------------

const { env, guarded, setUp, startServer, launchBrowser, tearDown, openPage, screenshot } =
  createSuite('gatehouse-browser-');

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

describe('Gatehouse sign-in pages in Chromium', () => {
  before(async () => {
    setUp();

    env.target = await startRedirectTarget();
    env.redirectOrigin = `http://127.0.0.1:${env.target.port}`;
    env.redirectUri = `${env.redirectOrigin}/callback`;

    const port = await freePort();
    env.issuer = `http://127.0.0.1:${port}`;
    env.issuerOrigin = new URL(env.issuer).origin;
    const binEnv = gatehouseEnv(env.issuer, env.tmp);

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

    await startServer(binEnv);
    await launchBrowser();
  });

  after(() => tearDown(env.target?.server));

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
