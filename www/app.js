/* sessiongate sign-in page: register, sign in, list and end sessions.
 *
 * Plain JavaScript, no build step, nothing loaded from elsewhere.
 *
 * Tokens: with bearer transport the access and refresh tokens live in the
 * variables below only (never localStorage, sessionStorage or a readable
 * cookie), so a reload signs the user out. With cookie transport
 * (cookie_auth = on in sessiongate.conf) the server keeps them in HttpOnly
 * cookies; the page notices (GET /auth/me answers without a bearer token)
 * and forgets the tokens it was given. Every request is same-origin with
 * credentials, and every POST/DELETE carries X-Sessiongate-CSRF: 1, which
 * cookie-authenticated changes require.
 *
 * The access token is refreshed at 80% of its lifetime, and again when a
 * call answers 401; when refreshing fails the page goes back to the sign-in
 * form with a message.
 */
'use strict';

(function () {
    const meta = document.querySelector('meta[name="sessiongate-api"]');
    const API = ((meta && meta.content) || '/api/v1').replace(/\/+$/, '');
    const REFRESH_AT = 0.8;          // share of the access token's lifetime
    const REQUEST_TIMEOUT_MS = 15000;
    const RETRY_LATER_S = 15;        // refresh retry after a transient error

    // ---- state (memory only) ---------------------------------------------

    const auth = {
        mode: null,      // null (signed out), 'bearer' or 'cookie'
        access: null,    // bearer mode only
        refresh: null,   // bearer mode only
        refreshAt: 0,    // ms (local clock) when to refresh
        user: null,
    };
    let generation = 0;  // bumped on every sign-in and sign-out
    let refreshTimer = 0;
    let refreshing = null;
    let clockOffset = 0; // server clock minus local clock, ms
    let sessions = [];
    let signingOut = false;

    const $ = (id) => document.getElementById(id);

    // ---- HTTP --------------------------------------------------------------

    function parseRetryAfter(v) {
        if (!v) return null;
        if (/^\s*\d+\s*$/.test(v)) return parseInt(v, 10);
        const t = Date.parse(v);
        return Number.isNaN(t) ? null : Math.max(0, Math.ceil((t - Date.now()) / 1000));
    }

    /* One API call. Never throws: resolves to
     * {ok, status, data, error: {code, message}, retryAfter}. */
    async function api(method, path, body, opts) {
        opts = opts || {};
        const headers = { Accept: 'application/json' };
        const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
        if (method !== 'GET') headers['X-Sessiongate-CSRF'] = '1';
        if (method === 'POST') {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body || {});
        }
        if (opts.bearer && auth.mode === 'bearer' && auth.access)
            headers.Authorization = 'Bearer ' + auth.access;
        const ctl = typeof AbortController === 'function' ? new AbortController() : null;
        if (ctl) init.signal = ctl.signal;
        const timer = ctl ? setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS) : 0;
        let res, json = null;
        try {
            res = await fetch(API + path, init);
            try { json = await res.json(); } catch (e) { json = null; }
        } catch (e) {
            return { ok: false, status: 0, data: null, retryAfter: null,
                     error: { code: 'NETWORK', message: String(e && e.message || e) } };
        } finally {
            clearTimeout(timer);
        }
        const date = Date.parse(res.headers.get('Date') || '');
        if (!Number.isNaN(date)) clockOffset = date - Date.now();
        const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
        if (res.ok && json && json.success === true)
            return { ok: true, status: res.status, data: json.data || {}, error: null, retryAfter };
        const error = json && json.success === false && json.error && json.error.code
            ? json.error
            : { code: 'HTTP_' + res.status, message: res.statusText || '' };
        return { ok: false, status: res.status, data: null, error, retryAfter };
    }

    /* A call that needs the user's session: refreshes first when the access
     * token is due, and once more on a 401; a 401 after that ends the
     * session on this page. Resolves to null when the page was signed out
     * (or signed in anew) meanwhile, else to the answer (or to the failed
     * refresh's answer when the server could not refresh for now). */
    async function authed(method, path, body) {
        const gen = generation;
        if (!auth.mode) return null;
        if (Date.now() >= auth.refreshAt) {
            const rr = await refreshNow();
            if (gen !== generation) return null;
            if (!rr.ok) return rr;
        }
        let r = await api(method, path, body, { bearer: true });
        if (gen !== generation) return null;
        if (r.status === 401) {
            const rr = await refreshNow();
            if (gen !== generation) return null;
            if (!rr.ok) return rr;
            r = await api(method, path, body, { bearer: true });
            if (gen !== generation) return null;
            if (r.status === 401) {
                endSession(r.error);
                return null;
            }
        }
        return r;
    }

    // ---- tokens ------------------------------------------------------------

    function scheduleRefresh(seconds) {
        clearTimeout(refreshTimer);
        const s = Math.max(1, Math.min(seconds, 86400));
        auth.refreshAt = Date.now() + s * 1000;
        refreshTimer = setTimeout(() => { refreshNow(); }, s * 1000);
    }

    /* Take the tokens of a sign-in or refresh answer. */
    function acceptTokens(d) {
        if (auth.mode === 'bearer') {
            if (d.access_token) auth.access = d.access_token;
            if (d.refresh_token) auth.refresh = d.refresh_token;
        } else {
            auth.access = auth.refresh = null;
        }
        const ttl = Number(d.expires_in) > 0 ? Number(d.expires_in) : 900;
        scheduleRefresh(ttl * REFRESH_AT);
    }

    /* Refresh now, one at a time. Resolves to the refresh answer; a
     * refusal (401, 400...) has ended the session on this page, a
     * transient failure (network, 429, 5xx) schedules another try. */
    function refreshNow() {
        if (!refreshing)
            refreshing = doRefresh().finally(() => { refreshing = null; });
        return refreshing;
    }

    async function doRefresh() {
        const gen = generation;
        // cookie transport: no token in memory, the server reads the cookie
        const body = auth.refresh ? { refresh_token: auth.refresh } : {};
        const r = await api('POST', '/auth/refresh', body);
        if (gen !== generation) return r;
        if (r.ok) {
            acceptTokens(r.data);
        } else if (r.status === 0 || r.status === 429 || r.status >= 500) {
            scheduleRefresh(Math.max(r.retryAfter || 0, RETRY_LATER_S));
        } else {
            endSession(r.error);
        }
        return r;
    }

    function forget() {
        generation++;
        clearTimeout(refreshTimer);
        auth.mode = auth.access = auth.refresh = auth.user = null;
        auth.refreshAt = 0;
        sessions = [];
        $('sessions-body').textContent = '';
    }

    /* The session ended under us (refresh refused, token revoked). */
    function endSession(error) {
        if (!auth.mode) return;
        const email = auth.user && auth.user.email;
        forget();
        if (signingOut) {
            // the session was gone already: signed out all the same
            showSignin(email || '', 'You are signed out.', 'ok');
            return;
        }
        let msg = 'Your session has ended. Please sign in again.';
        if (error && error.code === 'REFRESH_REUSED')
            msg = 'For your safety this session was ended: an old sign-in token was used again. Please sign in again.';
        else if (error && error.code === 'UNAUTHORIZED')
            msg = 'Your session has ended (it was signed out, perhaps from another device, or it expired). Please sign in again.';
        showSignin(email || '', msg, 'error');
    }

    // ---- messages ------------------------------------------------------------

    function waitText(seconds) {
        if (seconds == null) return 'a little while';
        if (seconds < 60) return seconds + (seconds === 1 ? ' second' : ' seconds');
        const m = Math.ceil(seconds / 60);
        return m + (m === 1 ? ' minute' : ' minutes');
    }

    /* The user-facing sentence for a failed call. */
    function messageFor(r) {
        const e = r.error || {};
        switch (e.code) {
        case 'INVALID_CREDENTIALS':
            return 'The email or password is wrong. Check both and try again.';
        case 'WEAK_PASSWORD':
            return 'That password is not accepted' + (e.message ? ' (' + e.message.replace(/\.$/, '') + ')' : '') +
                '. Choose a longer one: a few unrelated words work well.';
        case 'INVALID_EMAIL':
            return 'That email address is not valid. Check it for typos.';
        case 'EMAIL_TAKEN':
            return 'An account with this email already exists. Sign in instead, or use another email.';
        case 'RATE_LIMITED':
            return 'Too many attempts. Please wait and try again in ' + waitText(r.retryAfter) + '.';
        case 'STORE_UNAVAILABLE':
            return 'The sign-in service is temporarily unavailable. Please try again in ' +
                waitText(r.retryAfter) + '.';
        case 'REGISTRATION_CLOSED':
            return 'New accounts cannot be created on this site at the moment.';
        case 'UNAUTHORIZED':
            return 'Your session has ended. Please sign in again.';
        case 'REFRESH_REUSED':
            return 'For your safety this session was ended. Please sign in again.';
        case 'BAD_REQUEST':
            return 'The server did not accept the request' + (e.message ? ': ' + e.message : '.');
        case 'PAYLOAD_TOO_LARGE':
            return 'What you entered is too long.';
        case 'NOT_FOUND':
            return 'That session has already ended.';
        case 'FORBIDDEN':
            return 'You are not allowed to do this.';
        case 'NETWORK':
            return 'Cannot reach the server. Check your connection and try again.';
        default:
            if (r.status >= 500 || r.status === 0)
                return 'The server had a problem (HTTP ' + r.status + '). Please try again shortly.';
            return (e.message || 'The request failed') + ' (' + (e.code || 'HTTP ' + r.status) + ').';
        }
    }

    /* The page-wide notice (a polite live region). */
    function notify(text, kind) {
        const n = $('notice');
        n.textContent = text || '';
        n.className = 'notice' + (kind ? ' ' + kind : '');
        n.hidden = !text;
    }

    /* The error line of one form; role=alert announces it. */
    function formError(id, r) {
        const el = $(id);
        if (!r) {
            el.hidden = true;
            el.textContent = '';
            delete el.dataset.code;
            delete el.dataset.retryAfter;
            return;
        }
        el.textContent = typeof r === 'string' ? r : messageFor(r);
        el.hidden = false;
        if (r.error) el.dataset.code = r.error.code;
        if (r.retryAfter != null) el.dataset.retryAfter = String(r.retryAfter);
    }

    function busy(form, on) {
        form.setAttribute('aria-busy', on ? 'true' : 'false');
        for (const b of form.querySelectorAll('button, input')) {
            if (b.type === 'submit') b.disabled = on;
        }
    }

    // ---- views -------------------------------------------------------------

    function showView(name, focus) {
        for (const v of ['loading', 'signin', 'register', 'account'])
            $('view-' + v).hidden = v !== name;
        document.title = { signin: 'Sign in', register: 'Create an account',
                           account: 'Your sessions', loading: 'Loading' }[name] + ' · sessiongate';
        document.body.dataset.view = name;
        if (focus) {
            const el = document.querySelector('#view-' + name + ' ' + focus);
            if (el) el.focus();
        }
    }

    function showSignin(email, message, kind) {
        formError('signin-error', null);
        if (email != null) $('signin-email').value = email;
        showView('signin', email ? '#signin-password' : '#signin-title');
        notify(message || '', kind);
    }

    function showAccount() {
        const u = auth.user || {};
        $('user-name').textContent = u.name || u.email || 'you';
        $('user-email').textContent = u.name && u.email ? '(' + u.email + ')' : '';
        notify('');
        showView('account', '#account-title');
    }

    // ---- user agents and times ----------------------------------------------

    /* "Chrome on Linux", "Safari on iOS", "curl"... from a User-Agent. */
    function describeAgent(ua) {
        ua = String(ua || '').trim();
        if (!ua) return 'Unknown device';
        const tools = [
            [/^curl\//i, 'curl'], [/^Wget\//i, 'Wget'], [/^HTTPie\//i, 'HTTPie'],
            [/python-requests|python-urllib|aiohttp|httpx/i, 'Python script'],
            [/^Go-http-client/i, 'Go program'], [/^okhttp/i, 'Android app (OkHttp)'],
            [/PostmanRuntime/i, 'Postman'], [/^node-fetch|^undici|^node$/i, 'Node.js script'],
            [/^Java\//i, 'Java program'], [/^libwww-perl|^lwp/i, 'Perl script'],
        ];
        for (const [re, name] of tools) if (re.test(ua)) return name;

        let browser = null;
        const browsers = [
            [/Edg(e|A|iOS)?\//, 'Edge'], [/OPR\/|Opera/, 'Opera'], [/SamsungBrowser\//, 'Samsung Internet'],
            [/Vivaldi\//, 'Vivaldi'], [/YaBrowser\//, 'Yandex Browser'], [/FxiOS\/|Firefox\//, 'Firefox'],
            [/HeadlessChrome\//, 'Chrome (headless)'], [/CriOS\//, 'Chrome'], [/Chromium\//, 'Chromium'],
            [/Chrome\//, 'Chrome'], [/Version\/[\d.]+.*Safari\//, 'Safari'],
        ];
        for (const [re, name] of browsers) if (re.test(ua)) { browser = name; break; }

        let os = null;
        const systems = [
            [/Windows Phone/, 'Windows Phone'], [/Windows/, 'Windows'], [/Android/, 'Android'],
            [/iPad/, 'iPadOS'], [/iPhone|iPod/, 'iOS'], [/CrOS/, 'ChromeOS'],
            [/Mac OS X|Macintosh/, 'macOS'], [/Ubuntu/, 'Ubuntu'], [/Fedora/, 'Fedora'],
            [/FreeBSD/, 'FreeBSD'], [/OpenBSD/, 'OpenBSD'], [/Linux|X11/, 'Linux'],
        ];
        for (const [re, name] of systems) if (re.test(ua)) { os = name; break; }

        if (browser && os) return browser + ' on ' + os;
        if (browser) return browser;
        if (os) return 'Browser on ' + os;
        // an unknown program: its product token, e.g. "MyApp/1.2" -> "MyApp"
        const m = /^([A-Za-z][\w.+-]{0,30})/.exec(ua);
        return m ? m[1] : 'Unknown device';
    }

    function serverNow() { return Date.now() + clockOffset; }

    function relative(t) {
        const s = Math.round((serverNow() - t) / 1000);
        if (s < 45) return 'just now';
        if (s < 90) return '1 min ago';
        const m = Math.round(s / 60);
        if (m < 60) return m + ' min ago';
        const h = Math.round(m / 60);
        if (h < 24) return h + (h === 1 ? ' hour ago' : ' hours ago');
        const d = Math.round(h / 24);
        if (d === 1) return 'yesterday';
        return d + ' days ago';
    }

    function exact(t) {
        const d = new Date(t);
        let local;
        try {
            local = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
        } catch (e) {
            local = d.toString();
        }
        return local + ' (' + d.toISOString().replace(/\.\d+Z$/, 'Z') + ')';
    }

    function timeCell(label, iso) {
        const td = document.createElement('td');
        td.setAttribute('role', 'cell');
        td.dataset.label = label;
        const t = Date.parse(iso || '');
        if (Number.isNaN(t)) {
            td.textContent = '–';
            return td;
        }
        const el = document.createElement('time');
        el.dateTime = iso;
        el.dataset.ts = String(t);
        el.title = exact(t);
        el.textContent = relative(t);
        td.appendChild(el);
        return td;
    }

    function updateTimes() {
        for (const el of document.querySelectorAll('time[data-ts]'))
            el.textContent = relative(Number(el.dataset.ts));
    }

    // ---- sessions ----------------------------------------------------------

    function renderSessions(list) {
        sessions = Array.isArray(list) ? list : [];
        const body = $('sessions-body');
        body.textContent = '';
        for (const s of sessions) {
            const device = describeAgent(s.user_agent);
            const tr = document.createElement('tr');
            tr.setAttribute('role', 'row');
            tr.dataset.sessionId = s.id;
            if (s.current) {
                tr.className = 'current';
                tr.dataset.current = 'true';
            }

            const dev = document.createElement('td');
            dev.setAttribute('role', 'cell');
            dev.dataset.label = 'Device';
            const name = document.createElement('span');
            name.className = 'device';
            name.textContent = device;
            name.title = s.user_agent || 'no User-Agent sent';
            dev.appendChild(name);
            if (s.current) {
                const badge = document.createElement('span');
                badge.className = 'badge';
                badge.textContent = 'This device';
                dev.append(' ', badge);
            }
            tr.appendChild(dev);

            const ip = document.createElement('td');
            ip.setAttribute('role', 'cell');
            ip.dataset.label = 'IP address';
            ip.className = 'ip';
            ip.textContent = s.ip_address || '–';
            tr.appendChild(ip);

            tr.appendChild(timeCell('Signed in', s.created_at));
            tr.appendChild(timeCell('Last active', s.last_access));

            const act = document.createElement('td');
            act.setAttribute('role', 'cell');
            act.className = 'row-actions';
            if (!s.current) {
                const b = document.createElement('button');
                b.type = 'button';
                b.className = 'secondary small';
                b.textContent = 'Sign out';
                b.dataset.endSession = s.id;
                b.setAttribute('aria-label', 'Sign out ' + device + ' at ' + (s.ip_address || 'unknown address') +
                    ', signed in ' + relative(Date.parse(s.created_at)));
                act.appendChild(b);
            }
            tr.appendChild(act);
            body.appendChild(tr);
        }
        const others = sessions.filter((s) => !s.current).length;
        $('sessions-count').textContent = sessions.length === 1
            ? 'Only this device is signed in.'
            : sessions.length + ' sessions: this device and ' + others + ' other' + (others === 1 ? '' : 's') + '.';
        $('signout-others').disabled = others === 0;
    }

    async function loadSessions() {
        const reload = $('sessions-reload');
        reload.disabled = true;
        const r = await authed('GET', '/sessions');
        reload.disabled = false;
        if (!r) return false;
        if (!r.ok) {
            formError('sessions-error', r);
            return false;
        }
        formError('sessions-error', null);
        renderSessions(r.data.sessions);
        return true;
    }

    async function endOne(id, button) {
        const s = sessions.find((x) => x.id === id);
        const device = s ? describeAgent(s.user_agent) : 'the device';
        button.disabled = true;
        const r = await authed('DELETE', '/sessions/' + encodeURIComponent(id));
        if (!r) return;
        if (!r.ok && r.status !== 404) {
            button.disabled = false;
            formError('sessions-error', r);
            return;
        }
        formError('sessions-error', null);
        await loadSessions();
        if (auth.mode) {
            notify(r.ok ? 'Signed out ' + device + '.' : 'That session had already ended.', 'ok');
            $('sessions-title').focus();
        }
    }

    async function endOthers() {
        const b = $('signout-others');
        b.disabled = true;
        const r = await authed('DELETE', '/sessions');
        if (!r) return;
        if (!r.ok) {
            b.disabled = false;
            formError('sessions-error', r);
            return;
        }
        formError('sessions-error', null);
        const n = Number(r.data.terminated) || 0;
        await loadSessions();
        if (auth.mode) {
            notify(n === 0 ? 'No other device was signed in.'
                : 'Signed out ' + n + ' other ' + (n === 1 ? 'device' : 'devices') + '.', 'ok');
            $('sessions-title').focus();
        }
    }

    // ---- sign in, register, sign out -----------------------------------------

    const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

    function check(fields, errorId) {
        for (const [input, ok, msg] of fields) {
            input.removeAttribute('aria-invalid');
        }
        for (const [input, ok, msg] of fields) {
            if (!ok) {
                input.setAttribute('aria-invalid', 'true');
                formError(errorId, msg);
                input.focus();
                return false;
            }
        }
        return true;
    }

    /* Where a protected location sent us (?next=...), if it is a path on
     * this site: "/x", never "//host" or "/\\host", which would leave it.
     * Everything after "next=" counts, because nginx passes the URL it
     * wanted unencoded, query string and all. */
    function nextPath() {
        const i = location.search.indexOf('next=');
        if (i < 0) return null;
        let p = location.search.slice(i + 5);
        try { p = decodeURIComponent(p); } catch (e) { return null; }
        if (!/^\/(?![\/\\])/.test(p) || /[\u0000-\u001f]/.test(p)) return null;
        return p;
    }

    /* A cookie session can open protected pages: go back to the one that
     * sent us here. */
    function followNext() {
        const p = auth.mode === 'cookie' ? nextPath() : null;
        if (p) location.assign(p);
        return !!p;
    }

    /* After the sign-in answer: decide the transport and show the account. */
    async function signedIn(d) {
        generation++;
        const gen = generation;
        auth.user = d.user || null;
        auth.mode = 'bearer';
        acceptTokens(d);
        // Cookie transport on? Then /auth/me answers without a bearer token.
        const probe = await api('GET', '/auth/me');
        if (gen !== generation) return;
        if (probe.ok) {
            auth.mode = 'cookie';
            auth.access = auth.refresh = null;
        }
        if (followNext()) return;
        showAccount();
        await loadSessions();
    }

    async function onSignin(ev) {
        ev.preventDefault();
        const form = ev.currentTarget;
        const email = $('signin-email');
        const pw = $('signin-password');
        formError('signin-error', null);
        notify('');
        if (!check([[email, EMAIL_RE.test(email.value.trim()), 'Enter your email address.'],
                    [pw, pw.value.length > 0, 'Enter your password.']], 'signin-error'))
            return;
        busy(form, true);
        const r = await api('POST', '/auth/signin', { email: email.value.trim(), password: pw.value });
        busy(form, false);
        if (!r.ok) {
            formError('signin-error', r);
            if (r.error.code === 'INVALID_CREDENTIALS') pw.select();
            return;
        }
        pw.value = '';
        await signedIn(r.data);
    }

    async function onRegister(ev) {
        ev.preventDefault();
        const form = ev.currentTarget;
        const email = $('register-email');
        const name = $('register-name');
        const pw = $('register-password');
        formError('register-error', null);
        notify('');
        if (!check([[email, EMAIL_RE.test(email.value.trim()), 'Enter a valid email address, like name@example.com.'],
                    [pw, pw.value.length >= 8, 'Choose a password of at least 8 characters.']], 'register-error'))
            return;
        const body = { email: email.value.trim(), password: pw.value };
        if (name.value.trim()) body.name = name.value.trim();
        busy(form, true);
        const r = await api('POST', '/auth/register', body);
        busy(form, false);
        if (!r.ok) {
            formError('register-error', r);
            const bad = { EMAIL_TAKEN: email, INVALID_EMAIL: email, WEAK_PASSWORD: pw }[r.error.code];
            if (bad) {
                bad.setAttribute('aria-invalid', 'true');
                bad.focus();
            }
            return;
        }
        pw.value = '';
        name.value = '';
        const u = r.data.user || {};
        showSignin(u.email || body.email, 'Account created for ' + (u.email || body.email) +
            '. Sign in with your new password.', 'ok');
        email.value = '';
    }

    async function onSignout() {
        const b = $('signout');
        b.disabled = true;
        signingOut = true;
        let r;
        try {
            r = await authed('POST', '/auth/signout', {});
        } finally {
            signingOut = false;
            b.disabled = false;
        }
        if (!r) return; // the session had ended: the sign-in form shows
        if (!r.ok && r.status !== 401) {
            notify('Could not sign out: ' + messageFor(r), 'error');
            return;
        }
        const email = auth.user && auth.user.email;
        forget();
        showSignin(email || '', 'You are signed out.', 'ok');
    }

    // ---- start ---------------------------------------------------------------

    /* Cookie transport: a session may already exist. Bearer transport: this
     * fails (401, then 400 for the empty refresh) and the sign-in form
     * shows. */
    async function restore() {
        let me = await api('GET', '/auth/me');
        if (!me.ok && me.status === 401) {
            const r = await api('POST', '/auth/refresh', {});
            if (r.ok) {
                auth.mode = 'cookie';
                acceptTokens(r.data);
                me = await api('GET', '/auth/me');
            }
        }
        if (me.ok) {
            generation++;
            auth.mode = 'cookie';
            auth.user = me.data.user || null;
            if (!auth.refreshAt) {
                // when does the access cookie expire?
                const v = await api('GET', '/auth/verify');
                const exp = v.ok ? Date.parse(v.data.expires_at || '') : NaN;
                const left = Number.isNaN(exp) ? 60 : (exp - serverNow()) / 1000;
                scheduleRefresh(left * REFRESH_AT);
            }
            if (followNext()) return;
            showAccount();
            await loadSessions();
            return;
        }
        forget();
        if (me.status === 0 || me.status >= 500)
            showSignin(null, messageFor(me), 'error');
        else
            showSignin(null);
    }

    function init() {
        $('signin-form').addEventListener('submit', onSignin);
        $('register-form').addEventListener('submit', onRegister);
        $('to-register').addEventListener('click', () => {
            formError('register-error', null);
            notify('');
            const e = $('signin-email').value.trim();
            if (e && !$('register-email').value) $('register-email').value = e;
            showView('register', '#register-title');
        });
        $('to-signin').addEventListener('click', () => {
            const e = $('register-email').value.trim();
            showSignin(e && !$('signin-email').value ? e : null);
        });
        for (const box of document.querySelectorAll('input[data-show]')) {
            box.addEventListener('change', () => {
                $(box.dataset.show).type = box.checked ? 'text' : 'password';
            });
        }
        $('signout').addEventListener('click', onSignout);
        $('sessions-reload').addEventListener('click', async () => {
            notify('');
            if (await loadSessions()) notify('Session list updated.', 'ok');
        });
        $('signout-others').addEventListener('click', endOthers);
        $('sessions-body').addEventListener('click', (ev) => {
            const b = ev.target.closest('button[data-end-session]');
            if (b) endOne(b.dataset.endSession, b);
        });
        // Timers are throttled in background tabs: catch up on return.
        document.addEventListener('visibilitychange', () => {
            if (document.visibilityState === 'visible' && auth.mode && Date.now() >= auth.refreshAt)
                refreshNow();
        });
        setInterval(updateTimes, 30000);
        restore();
    }

    // For the end-to-end test and the curious: read-only facts, no tokens.
    window.sessiongate = Object.freeze({
        describeAgent,
        state: () => ({ mode: auth.mode, refreshAt: auth.refreshAt, signedIn: !!auth.mode }),
    });

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
})();
