// A single-page app in Chromium: a page on its own loopback origin signs in with PKCE and
// calls /token and /userinfo with `fetch` (CORS); a page on another origin holding the
// same access token cannot read /userinfo.
//
//   cd tests/browser && npm ci && npm test

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import {
  PASSWORD,
  STEP_TIMEOUT_MS,
  createSuite,
  freePort,
  gatehouseEnv,
  runCli,
  submitLogin,
} from './support.mjs';

const USERNAME = 'spa-user';

/**
 * The app: one page, as a real SPA would be. Without a `code` in its URL it makes a PKCE
 * pair, keeps the verifier in sessionStorage and goes to /authorize; back on /callback it
 * trades the code at /token and reads /userinfo with fetch, and shows what it got.
 */
function appPage(issuer, clientId, redirectUri) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPA</title></head>
<body><pre id="result">working</pre>
<script>
const issuer = ${JSON.stringify(issuer)};
const clientId = ${JSON.stringify(clientId)};
const redirectUri = ${JSON.stringify(redirectUri)};
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const show = (value) => { document.getElementById('result').textContent = JSON.stringify(value); };
(async () => {
  const params = new URLSearchParams(location.search);
  if (!params.has('code')) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem('verifier', verifier);
    sessionStorage.setItem('state', state);
    const url = new URL('/authorize', issuer);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
      scope: 'openid profile', state, code_challenge: challenge, code_challenge_method: 'S256',
    });
    location.assign(url);
    return;
  }
  if (params.get('state') !== sessionStorage.getItem('state')) { show({ error: 'state' }); return; }
  const token = await fetch(new URL('/token', issuer), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri,
      client_id: clientId, code_verifier: sessionStorage.getItem('verifier'),
    }),
  }).then((r) => r.json());
  // An Authorization header makes this a preflighted request.
  const userinfo = await fetch(new URL('/userinfo', issuer), {
    headers: { Authorization: 'Bearer ' + token.access_token },
  }).then((r) => r.json());
  show({ token_type: token.token_type, access_token: token.access_token, userinfo });
})().catch((e) => show({ error: String(e) }));
</script></body></html>`;
}

/** A node:http server answering every path with `page()`. */
async function serve(page) {
  const server = createServer((req, res) => {
    if (new URL(req.url, 'http://x').pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page());
  });
  await new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', res);
  });
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

const { env, guarded, setUp, startServer, launchBrowser, tearDown, openPage } =
  createSuite('gatehouse-spa-');

describe('A single-page app in Chromium', () => {
  before(async () => {
    setUp();
    const port = await freePort();
    env.issuer = `http://127.0.0.1:${port}`;
    // The app and a page on another origin; their pages are filled in once the client exists.
    env.app = await serve(() => appPage(env.issuer, env.clientId, `${env.app.origin}/callback`));
    env.other = await serve(() => '<!doctype html><title>Other</title><p>another origin</p>');
    const binEnv = gatehouseEnv(env.issuer, env.tmp);
    await runCli(['user', 'create', USERNAME, '--password-stdin'], {
      cwd: env.tmp,
      env: binEnv,
      input: `${PASSWORD}\n`,
    });
    const client = JSON.parse(
      await runCli(
        ['client', 'create', '--name', 'SPA', '--public', '--redirect-uri', `${env.app.origin}/callback`, '--json'],
        { cwd: env.tmp, env: binEnv },
      ),
    );
    assert.equal(client.client_secret, null, 'a public client has no secret');
    env.clientId = client.client_id;
    await startServer(binEnv);
    await launchBrowser();
  });

  after(async () => {
    await new Promise((r) => env.other?.server.close(r));
    await tearDown(env.app?.server);
  });

  test('signs in with PKCE and reads /token and /userinfo from its own origin; another origin cannot', guarded(async () => {
    const { context, page } = await openPage();
    try {
      await page.goto(`${env.app.origin}/`);
      await page.waitForURL((u) => new URL(u).pathname === '/login');
      await submitLogin(page, USERNAME, PASSWORD);
      await page.waitForURL((u) => new URL(u).pathname === '/consent');
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(`${env.app.origin}/callback`)),
        page.click('button[name=decision][value=allow]'),
      ]);
      await page.waitForFunction(
        () => document.getElementById('result').textContent !== 'working',
        null,
        { timeout: STEP_TIMEOUT_MS },
      );
      const result = JSON.parse(await page.textContent('#result'));
      assert.equal(result.error, undefined, JSON.stringify(result));
      assert.equal(result.token_type, 'Bearer');
      assert.ok(result.userinfo.sub, 'userinfo read by the app');
      assert.equal(result.userinfo.preferred_username, USERNAME);

      // The same token, from a page on an origin the client never registered: the browser
      // sends the request, but the page cannot read the answer.
      const other = await context.newPage();
      await other.goto(`${env.other.origin}/`);
      const outcome = await other.evaluate(
        async ([issuer, token]) => {
          try {
            const r = await fetch(new URL('/userinfo', issuer), {
              headers: { Authorization: `Bearer ${token}` },
            });
            return `read ${r.status}`;
          } catch (e) {
            return `blocked: ${e.name}`;
          }
        },
        [env.issuer, result.access_token],
      );
      assert.equal(outcome, 'blocked: TypeError');
    } finally {
      await context.close();
    }
  }));
});
