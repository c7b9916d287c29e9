// What the headless-browser tests (*.test.mjs in this folder) share: where the binaries are,
// the bounded waits, running and stopping `gatehouse`, and a suite's temporary directory,
// browser, screenshots and clean-up. No tests here (node --test does not pick this file up).
//
// GATEHOUSE_BIN: the `gatehouse` binary (default ../../target/debug/gatehouse from this file).
// CHROMIUM_PATH: Debian's chromium (default /usr/bin/chromium).
// GATEHOUSE_SCREENSHOTS: where screenshots go (default: the suite's temporary directory,
// which is removed after a passing run unless GATEHOUSE_KEEP_TMP=1, and kept after a failing one).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const BIN = resolve(HERE, process.env.GATEHOUSE_BIN ?? '../../target/debug/gatehouse');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
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

/** The password the suites give the accounts they create. */
export const PASSWORD = 'correct horse battery staple';

// Every wait is bounded.
export const CLI_TIMEOUT_MS = 30_000;
export const START_TIMEOUT_MS = 30_000;
export const STEP_TIMEOUT_MS = 15_000;
export const STOP_TIMEOUT_MS = 10_000;

/** A port that was free a moment ago (for the server, which takes its address from the issuer). */
export function freePort() {
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
export function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The environment for the binary: ours, with no GATEHOUSE_* leaking in from the caller. */
export function serverEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** The binary's environment for a server on `issuer` keeping its state in `dir`. */
export function gatehouseEnv(issuer, dir, extra = {}) {
  return serverEnv({
    GATEHOUSE_ISSUER: issuer,
    GATEHOUSE_DATABASE_URL: `sqlite://${join(dir, 'gatehouse.db')}`,
    GATEHOUSE_KEYS_DIR: join(dir, 'keys'),
    ...extra,
  });
}

/** Runs a gatehouse CLI command to completion; resolves with stdout, rejects on failure. */
export function runCli(args, { cwd, env, input }) {
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

/** Starts `gatehouse serve` and resolves once it logs "is listening". */
export async function startGatehouse({ cwd, env }) {
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
export async function stopGatehouse(child) {
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

/** Clicks `selector` (a submit button or link) and resolves with the navigation's final response. */
export async function clickAndWait(page, selector) {
  // First the element (a missing one fails with its selector in the message), then the click.
  await page.locator(selector).waitFor({ state: 'visible' });
  const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return response;
}

/** Fills the login form (#username, #password), submits it and resolves with the response. */
export async function submitLogin(page, username, password) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  return clickAndWait(page, 'form button[type=submit]');
}

/**
 * One test file's suite: `env` holds what its tests share (tmp, screenshots, server,
 * serverLog, browser, and whatever the file adds); `guarded` wraps a test body so that a
 * failure keeps the temporary directory and shows the server's log.
 */
export function createSuite(tmpPrefix) {
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

  /** Checks for the binaries and makes the temporary and screenshot directories. */
  function setUp() {
    assert.ok(existsSync(BIN), `no gatehouse binary at ${BIN} (set GATEHOUSE_BIN)`);
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);

    env.tmp = mkdtempSync(join(tmpdir(), tmpPrefix));
    env.screenshots = resolve(process.env.GATEHOUSE_SCREENSHOTS ?? env.tmp);
    mkdirSync(env.screenshots, { recursive: true });
  }

  /** Starts the suite's `gatehouse serve` in its temporary directory. */
  async function startServer(binEnv) {
    const server = await startGatehouse({ cwd: env.tmp, env: binEnv });
    env.server = server.child;
    env.serverLog = server.log;
  }

  async function launchBrowser() {
    env.browser = await chromium.launch({
      executablePath: CHROMIUM,
      // playwright-core adds its own --headless and --user-data-dir (a fresh temporary one).
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: START_TIMEOUT_MS,
    });
  }

  /** Closes the browser, the server and `helper` (a node:http server); removes or keeps tmp. */
  async function tearDown(helper) {
    await env.browser?.close().catch(() => {});
    await stopGatehouse(env.server);
    await new Promise((r) => (helper ? helper.close(r) : r()));
    helper?.closeAllConnections?.();
    if (env.tmp) {
      if (failed || process.env.GATEHOUSE_KEEP_TMP === '1') {
        console.log(`kept ${env.tmp} (server database, keys${env.screenshots === env.tmp ? ', screenshots' : ''})`);
      } else {
        rmSync(env.tmp, { recursive: true, force: true });
      }
    }
  }

  /** A fresh browser context whose page records its requests, console output and CSP reports. */
  async function openPage(contextOptions = {}) {
    const context = await env.browser.newContext({
      colorScheme: 'light',
      viewport: { width: 1280, height: 800 },
      ...contextOptions,
    });
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

  /** Saves a full-page screenshot as `name` in the screenshot directory; resolves with its path. */
  async function screenshot(page, name) {
    const path = join(env.screenshots, name);
    await page.screenshot({ path, fullPage: true });
    return path;
  }

  return { env, guarded, setUp, startServer, launchBrowser, tearDown, openPage, screenshot };
}
