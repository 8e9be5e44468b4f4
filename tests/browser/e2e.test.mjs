// End-to-end test of the sign-in page (www/) in Debian's headless Chromium,
// driven by playwright-core. Run by tests/integration/browser.sh, which
// starts the stack; by hand:
//
//   SG_SITE=http://127.0.0.1:PORT/ SG_OUT=/tmp/out node --test e2e.test.mjs
//
// Environment:
//   SG_SITE        the site root that serves www/ with the API at /api/v1 (required)
//   SG_OUT         where screenshots of a failing step go (default: a temp dir)
//   SG_TRANSPORT   bearer (default) or cookie: what the server is set up for
//   SG_ACCESS_TTL  the server's access_token_ttl in seconds, when short (at
//                  most 60): the test then waits for a silent refresh
//   SG_CHROMIUM    the browser (default /usr/bin/chromium)
//
// The steps run in order and share the browser; after a failing step the
// dependent ones are skipped. The rate-limit step is independent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SITE = process.env.SG_SITE;
const OUT = process.env.SG_OUT || fs.mkdtempSync(path.join(os.tmpdir(), 'sg-browser-'));
const TRANSPORT = process.env.SG_TRANSPORT || 'bearer';
const ACCESS_TTL = Number(process.env.SG_ACCESS_TTL || 0);
const CHROMIUM = process.env.SG_CHROMIUM || '/usr/bin/chromium';
// Bounds for a hung browser, far above what a loaded machine takes: the
// test waits for what the page shows, never for a fixed time (but for the
// silent refresh, whose timer is what is under test).
const STEP_MS = 300_000;       // one step
const ACTION_MS = 60_000;      // one click, fill or wait for an element
const WATCHDOG_MS = 1_200_000; // the whole file

if (!SITE) throw new Error('SG_SITE is not set (the site root, e.g. http://127.0.0.1:8080/)');
const ORIGIN = new URL(SITE).origin;
fs.mkdirSync(OUT, { recursive: true });

// Whatever happens, stop: a hung browser must not hang `make check`.
setTimeout(() => {
    console.error(`FAIL: watchdog: the browser test ran over ${WATCHDOG_MS / 1000} s`);
    process.exit(2);
}, WATCHDOG_MS).unref();

const stamp = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
const USER = { email: `e2e-${stamp}@example.com`, name: 'Erin Example', password: 'correct horse battery staple' };

let browser;
const pages = {};         // name -> page, for screenshots
const foreign = [];       // requests that left the site
const pageErrors = [];    // uncaught exceptions and CSP violations
let broken = null;        // the first failed step: later ones are skipped
let stepNo = 0;

async function newPage(name, viewport) {
    const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'UTC' });
    context.setDefaultTimeout(ACTION_MS);
    context.setDefaultNavigationTimeout(ACTION_MS);
    const page = await context.newPage();
    page.on('request', (req) => {
        const u = req.url();
        if (!u.startsWith(ORIGIN + '/') && !u.startsWith('data:')) foreign.push(`${name}: ${u}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
    page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
            pageErrors.push(`${name}: ${m.text()}`);
    });
    page.refreshes = 0;
    page.on('response', (res) => {
        if (res.url().endsWith('/auth/refresh') && res.status() === 200) page.refreshes++;
    });
    pages[name] = page;
    return page;
}

async function screenshots(label) {
    const written = [];
    for (const [name, page] of Object.entries(pages)) {
        if (page.isClosed()) continue;
        const file = path.join(OUT, `${String(stepNo).padStart(2, '0')}-${label}-${name}.png`);
        try {
            await page.screenshot({ path: file, fullPage: true, timeout: 5000 });
            written.push(file);
            const text = await page.evaluate(() => document.body.innerText).catch(() => '');
            fs.writeFileSync(file.replace(/\.png$/, '.txt'), text);
        } catch (e) {
            console.error(`could not screenshot ${name}: ${e.message}`);
        }
    }
    if (written.length) console.error(`screenshots of the failed step: ${written.join(' ')}`);
}

// step(name, fn, {independent}): one test; screenshots when it fails.
function step(name, fn, opts = {}) {
    test(name, { timeout: STEP_MS }, async (t) => {
        stepNo++;
        if (!browser) return t.skip('no browser');
        if (broken && !opts.independent) return t.skip(`after the failed step "${broken}"`);
        let skipped = false;
        const ctx = { skip: (why) => { skipped = true; t.skip(why); console.log(`SKIP: ${name}: ${why}`); } };
        try {
            await fn(ctx);
            if (!skipped) console.log(`PASS: ${name}`);
        } catch (e) {
            if (!opts.independent) broken = name;
            console.log(`FAIL: ${name}: ${e.message.split('\n')[0]}`);
            await screenshots(name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
            throw e;
        }
    });
}

const view = (page) => page.locator('body').getAttribute('data-view');
async function expectView(page, name) {
    await page.locator(`#view-${name}`).waitFor({ state: 'visible' });
    assert.equal(await view(page), name);
}
const rows = (page) => page.locator('#sessions-body tr');
async function expectRows(page, n) {
    await page.waitForFunction((n) => document.querySelectorAll('#sessions-body tr').length === n,
        n, { timeout: ACTION_MS }).catch(async () => {
        throw new Error(`expected ${n} session rows, found ${await rows(page).count()}`);
    });
}
const notice = (page) => page.locator('#notice');

// The parts of one view (the others are in the page too, hidden).
const signinView = (page) => page.locator('#view-signin');
const registerView = (page) => page.locator('#view-register');

async function signIn(page, email, password) {
    const v = signinView(page);
    await v.getByLabel('Email', { exact: true }).fill(email);
    await v.getByLabel('Password', { exact: true }).fill(password);
    await v.getByRole('button', { name: 'Sign in', exact: true }).click();
}

before(async () => {
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 120_000,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
});

after(async () => {
    if (browser) await browser.close().catch(() => {});
});

let a, b;          // first and second browser (contexts)
let bSession;      // the second browser's session id

step('the page loads from the site alone and shows the sign-in form', async () => {
    a = await newPage('first', { width: 1280, height: 800 });
    const res = await a.goto(SITE);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'] || '', /text\/html/);
    await expectView(a, 'signin');
    assert.equal(await a.title(), 'Sign in · sessiongate');
    // labels: every visible input is reachable by its label
    for (const label of ['Email', 'Password', 'Show password'])
        assert.equal(await signinView(a).getByLabel(label, { exact: true }).count(), 1, `label ${label}`);
    // keyboard: Tab reaches the email field, with a visible focus ring
    await a.locator('body').focus();
    await a.keyboard.press('Tab'); // skip link
    const skipOutline = await a.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(skipOutline, 'none', 'the focused skip link has no outline');
});

step('register a new account', async () => {
    const r = registerView(a);
    await signinView(a).getByRole('button', { name: 'Create an account' }).click();
    await expectView(a, 'register');
    await r.getByLabel('Email', { exact: true }).fill(USER.email);
    await r.getByLabel(/^Name/).fill(USER.name);
    // checked on the page first: a short password never leaves it
    await r.getByLabel('Password', { exact: true }).fill('short');
    await r.getByLabel('Password', { exact: true }).press('Enter');
    await r.locator('#register-error').getByText('at least 8 characters').waitFor();
    await r.getByLabel('Password', { exact: true }).fill(USER.password);
    await r.getByLabel('Password', { exact: true }).press('Enter');
    await expectView(a, 'signin');
    await notice(a).getByText(`Account created for ${USER.email}`).waitFor();
    assert.equal(await signinView(a).getByLabel('Email', { exact: true }).inputValue(), USER.email);
});

step('registering the same email again says it is taken', async () => {
    const r = registerView(a);
    await signinView(a).getByRole('button', { name: 'Create an account' }).click();
    await expectView(a, 'register');
    await r.getByLabel('Email', { exact: true }).fill(USER.email);
    await r.getByLabel('Password', { exact: true }).fill(USER.password);
    await r.getByRole('button', { name: 'Create account' }).click();
    const err = r.locator('#register-error');
    await err.getByText('An account with this email already exists').waitFor();
    assert.equal(await err.getAttribute('data-code'), 'EMAIL_TAKEN');
    await r.getByRole('button', { name: 'Sign in', exact: true }).click(); // back to the sign-in form
    await expectView(a, 'signin');
});

step('sign in (keyboard only) and see this session marked current', async () => {
    const email = signinView(a).getByLabel('Email', { exact: true });
    await email.fill('');
    await email.focus();
    await a.keyboard.type(USER.email);
    await a.keyboard.press('Tab');
    await a.keyboard.type(USER.password);
    await a.keyboard.press('Enter');
    await expectView(a, 'account');
    a.signedInAt = Date.now();
    await a.locator('#user-email').getByText(USER.email).waitFor();
    await expectRows(a, 1);
    const row = rows(a).first();
    assert.equal(await row.getAttribute('data-current'), 'true');
    await row.getByText('This device').waitFor();
    assert.match(await row.locator('.device').innerText(), / on Linux$/);
    assert.equal(await row.locator('.ip').innerText(), '127.0.0.1');
    assert.match(await row.locator('time').first().innerText(), /just now|min ago/);
    assert.equal(await row.getByRole('button', { name: /^Sign out/ }).count(), 0, 'no sign-out button on the current row');
    assert.equal(await a.getByRole('button', { name: 'Sign out all other devices' }).isDisabled(), true);
    // tokens stay out of storage; cookie tokens are HttpOnly
    const stored = await a.evaluate(() => ({ l: localStorage.length, s: sessionStorage.length, c: document.cookie }));
    assert.deepEqual(stored, { l: 0, s: 0, c: '' });
    const mode = await a.evaluate(() => window.sessiongate.state().mode);
    assert.equal(mode, TRANSPORT, `the page uses ${mode} transport`);
});

step('sign in a second time from another browser (phone-sized)', async () => {
    b = await newPage('second', { width: 375, height: 740 });
    await b.goto(SITE);
    await expectView(b, 'signin');
    await signIn(b, USER.email, USER.password);
    await expectView(b, 'account');
    await expectRows(b, 2);
    const current = b.locator('#sessions-body tr[data-current="true"]');
    assert.equal(await current.count(), 1);
    bSession = await current.getAttribute('data-session-id');
    assert.match(bSession, /^[0-9a-f]{64}$/);
    // readable at 375 px: nothing wider than the screen
    const overflow = await b.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 375px screen`);
});

step('the first browser sees both sessions and ends the second one', async () => {
    await a.getByRole('button', { name: 'Refresh list' }).click();
    await expectRows(a, 2);
    const other = a.locator(`#sessions-body tr[data-session-id="${bSession}"]`);
    assert.equal(await other.getAttribute('data-current'), null);
    await other.getByRole('button', { name: /^Sign out Chrome/ }).click();
    await expectRows(a, 1);
    assert.equal(await a.locator(`#sessions-body tr[data-session-id="${bSession}"]`).count(), 0);
    await notice(a).getByText(/^Signed out .+\.$/).waitFor();
});

step("the second browser's next call fails and it is back at the sign-in form", async () => {
    await b.getByRole('button', { name: 'Refresh list' }).click();
    await expectView(b, 'signin');
    await notice(b).getByText('Your session has ended').waitFor();
});

step('sign out all other devices', async () => {
    await signIn(b, USER.email, USER.password);
    await expectView(b, 'account');
    await expectRows(b, 2);
    if (TRANSPORT === 'cookie') {
        // the cookies carry the session across a reload
        await b.reload();
        await expectView(b, 'account');
        await expectRows(b, 2);
    }
    await a.getByRole('button', { name: 'Refresh list' }).click();
    await expectRows(a, 2);
    await a.getByRole('button', { name: 'Sign out all other devices' }).click();
    await notice(a).getByText('Signed out 1 other device.').waitFor();
    await expectRows(a, 1);
    await b.getByRole('button', { name: 'Refresh list' }).click();
    await expectView(b, 'signin');
});

step('the access token is refreshed silently before it expires', async (t) => {
    if (!ACCESS_TTL || ACCESS_TTL > 60) return t.skip('SG_ACCESS_TTL is not a short lifetime');
    // the page refreshes at 80% of the lifetime; allow twice that
    const deadline = a.signedInAt + ACCESS_TTL * 1600;
    while (a.refreshes < 1 && Date.now() < deadline) await a.waitForTimeout(250);
    assert.ok(a.refreshes >= 1, `no refresh within ${ACCESS_TTL * 1.6} s of signing in`);
    assert.equal(await view(a), 'account');
    assert.doesNotMatch(await notice(a).getAttribute('class'), /error/, 'the refresh showed an error');
    // past the first token's lifetime, calls still work
    const left = a.signedInAt + ACCESS_TTL * 1000 + 1000 - Date.now();
    if (left > 0) await a.waitForTimeout(left);
    await a.getByRole('button', { name: 'Refresh list' }).click();
    await notice(a).getByText('Session list updated.').waitFor();
    assert.equal(await view(a), 'account');
});

step('sign out', async () => {
    await a.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectView(a, 'signin');
    await notice(a).getByText('You are signed out.').waitFor();
    await a.reload();
    await expectView(a, 'signin');
});

step('a rate-limited sign-in shows the wait', async () => {
    const c = await newPage('ratelimit', { width: 800, height: 700 });
    await c.goto(SITE);
    await expectView(c, 'signin');
    const email = `nobody-${stamp}@example.com`; // never signed in from here
    const err = c.locator('#signin-error');
    for (let i = 1; i <= 6; i++) {
        await signIn(c, email, `wrong password ${i}`);
        // each answer replaces the message; wait for this one's code
        await c.waitForFunction((i) => {
            const e = document.getElementById('signin-error');
            return !e.hidden && e.dataset.code && document.querySelector('#signin-form button[type=submit]').disabled === false;
        }, i, { timeout: ACTION_MS });
        const code = await err.getAttribute('data-code');
        if (i <= 5) {
            assert.equal(code, 'INVALID_CREDENTIALS', `attempt ${i}`);
            assert.match(await err.innerText(), /email or password is wrong/);
        } else {
            assert.equal(code, 'RATE_LIMITED', `attempt ${i}`);
            const wait = Number(await err.getAttribute('data-retry-after'));
            assert.ok(wait > 60 && wait <= 900, `Retry-After ${wait}`);
            assert.match(await err.innerText(), /Too many attempts\. Please wait and try again in \d+ minutes?\./);
            assert.match(await err.innerText(), new RegExp(`in ${Math.ceil(wait / 60)} minute`));
        }
        await c.evaluate(() => { const e = document.getElementById('signin-error'); delete e.dataset.code; });
    }
}, { independent: true });

step('nothing was loaded from outside the site and no script error occurred', async () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
}, { independent: true });
