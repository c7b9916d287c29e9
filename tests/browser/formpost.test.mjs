// OAuth 2.0 Form Post Response Mode in Chromium: after sign-in and consent, the page
// Gatehouse answers posts the code, state and iss to the client by itself (its one script
// allowed by hash, no CSP violation), and the code never appears in a URL.
//
//   cd tests/browser && npm ci && npm test

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

const USERNAME = 'form-post-user';
const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** The stand-in client: records the forms POSTed to /callback. */
async function startClient() {
  const posts = [];
  const waiters = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST' && new URL(req.url, 'http://x').pathname === '/callback') {
        const form = Object.fromEntries(new URLSearchParams(body));
        posts.push(form);
        for (const w of waiters.splice(0)) w(form);
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ok');
    });
  });
  await new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', res);
  });
  return {
    server,
    origin: `http://127.0.0.1:${server.address().port}`,
    nextPost() {
      if (posts.length) return Promise.resolve(posts.shift());
      return within(STEP_TIMEOUT_MS, 'a form POSTed to the client', new Promise((r) => waiters.push(r)));
    },
  };
}

const { env, guarded, setUp, startServer, launchBrowser, tearDown, openPage } =
  createSuite('gatehouse-formpost-');

describe('response_mode=form_post in Chromium', () => {
  before(async () => {
    setUp();
    env.client = await startClient();
    const port = await freePort();
    env.issuer = `http://127.0.0.1:${port}`;
    const binEnv = gatehouseEnv(env.issuer, env.tmp);
    await runCli(['user', 'create', USERNAME, '--password-stdin'], {
      cwd: env.tmp,
      env: binEnv,
      input: `${PASSWORD}\n`,
    });
    const client = JSON.parse(
      await runCli(['client', 'create', '--name', 'Form Post App', '--redirect-uri', `${env.client.origin}/callback`, '--json'], {
        cwd: env.tmp,
        env: binEnv,
      }),
    );
    env.clientId = client.client_id;
    await startServer(binEnv);
    await launchBrowser();
  });

  after(() => tearDown(env.client?.server));

  test('the code, state and iss reach the client by POST, with no URL carrying the code', guarded(async () => {
    const { context, page, seen } = await openPage();
    try {
      const verifier = b64url(randomBytes(32));
      const state = b64url(randomBytes(16));
      const url = new URL('/authorize', env.issuer);
      url.search = new URLSearchParams({
        response_type: 'code',
        response_mode: 'form_post',
        client_id: env.clientId,
        redirect_uri: `${env.client.origin}/callback`,
        scope: 'openid',
        state,
        code_challenge: b64url(createHash('sha256').update(verifier).digest()),
        code_challenge_method: 'S256',
      }).toString();
      await page.goto(url.href);
      await submitLogin(page, USERNAME, PASSWORD);
      await page.waitForURL((u) => u.pathname === '/consent');
      const posted = env.client.nextPost();
      await page.click('button[name=decision][value=allow]');
      const form = await posted;
      assert.ok(form.code, 'a code');
      assert.equal(form.state, state);
      assert.equal(form.iss, env.issuer);
      await page.waitForURL((u) => u.href === `${env.client.origin}/callback`);
      assert.deepEqual(seen.violations, [], 'no CSP violation: the script is allowed by its hash');
      assert.ok(
        seen.requests.every((r) => !r.includes(form.code)),
        'no request URL carries the code',
      );
    } finally {
      await context.close();
    }
  }));
});
