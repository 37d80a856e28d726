// Drives the views of luci-app-opentracker and the daemon's landing page
// in headless Chromium (puppeteer-core), against the real daemon, which
// the status test stops at its end. Started
// by luci_test.go, which sets up the daemon and the environment:
//   OT_HTTP       host:port of the daemon's HTTP listener
//   OT_PID        the daemon's pid (for the "service list" answer)
//   OT_UCI_DIR    directory holding the UCI file "opentracker" the views load
//   OT_PLUGIN     the rpcd plugin, run with BUSYBOX sh for "opentracker" calls
//   OT_SHOTS      directory for screenshots (empty: none)
//   CHROMIUM      the browser binary
// Prints one JSON object: the options the settings view created, and what
// was checked. A failed check exits 1 with the reason.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const htdocs = path.join(here, '..', 'htdocs');
const env = process.env;
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };

// UCI file -> the shape rpcd's "uci get" returns: {section: {".name", ".type", option: string|array}}.
function parseUCI(text) {
	const out = {};
	let cur = null;
	for (const raw of text.split('\n')) {
		const line = raw.trim();
		if (!line || line.startsWith('#')) continue;
		const words = [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
		if (words[0] === 'config') { cur = { '.name': words[2], '.type': words[1] }; out[words[2]] = cur; }
		else if (words[0] === 'option') cur[words[1]] = words[2];
		else if (words[0] === 'list') (cur[words[1]] = Array.isArray(cur[words[1]]) ? cur[words[1]] : []).push(words[2]);
	}
	return out;
}

// Whether the daemon runs, as procd sees it: a process that has exited
// (even one its parent has not reaped yet) does not.
function alive(pid) {
	try { return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

// ubus as rpcd answers it: "service list" from procd (shape as recorded
// from real procd: instances with running and pid), "opentracker stats"
// from the plugin itself, run under busybox sh.
function ubus(req) {
	if (req.object === 'service' && req.method === 'list') {
		const pid = +env.OT_PID;
		if (!alive(pid)) return Promise.resolve({});
		return Promise.resolve({ opentracker: { instances: { instance1: { running: true, pid, command: ['/usr/sbin/opentracker', '-f', '/var/etc/opentracker.toml'] } } } });
	}
	if (req.object === 'opentracker') {
		return new Promise((resolve) => {
			execFile(env.BUSYBOX || 'busybox', ['sh', env.OT_PLUGIN, 'call', req.method], { timeout: 10000 }, (err, stdout) => {
				try { resolve(JSON.parse(stdout)); } catch { resolve({ error: 'plugin output is not JSON: ' + stdout + (err || '') }); }
			});
		});
	}
	return Promise.resolve({ error: 'not found' });
}

const server = http.createServer((req, res) => {
	const url = new URL(req.url, 'http://x');
	const send = (code, type, body) => { res.writeHead(code, { 'Content-Type': type }); res.end(body); };
	if (req.method === 'POST' && url.pathname === '/ubus') {
		let body = '';
		req.on('data', (c) => { body += c; });
		req.on('end', () => ubus(JSON.parse(body)).then((r) => send(200, 'application/json', JSON.stringify(r))));
		return;
	}
	if (url.pathname === '/uci/opentracker')
		return send(200, 'application/json', JSON.stringify(parseUCI(fs.readFileSync(path.join(env.OT_UCI_DIR, 'opentracker'), 'utf8'))));
	let file = null;
	if (url.pathname.startsWith('/luci-static/')) file = path.join(htdocs, url.pathname);
	else if (url.pathname.startsWith('/harness/')) file = path.join(here, url.pathname);
	if (!file || !fs.existsSync(file)) return send(404, 'text/plain', 'not found');
	const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
	send(200, type, fs.readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await puppeteer.launch({
	executablePath: env.CHROMIUM, headless: 'shell',
	args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
	protocolTimeout: 60000,
});
const result = { checks: [] };
const check = (ok, what) => { if (!ok) fail(what); result.checks.push(what); };
const timeout = { timeout: 20000 };
let step = 'start';

async function open(view) {
	const page = await browser.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	await page.setViewport({ width: 1000, height: 800 });
	await page.goto(`${base}/harness/index.html?view=${view}&pollscale=0.1`);
	await page.waitForFunction(() => document.body.dataset.rendered || document.body.dataset.error, timeout);
	const err = await page.evaluate(() => document.body.dataset.error);
	if (err) fail(`${view}: ${err}`);
	return { page, errors };
}

try {
	// --- settings view ---
	step = 'settings view';
	{
		const { page, errors } = await open('opentracker/settings');
		result.options = await page.evaluate(() => window.LuCIStandIn.maps[0].sections[0].children.map((o) => ({
			name: o.option, tab: o.tab, widget: o.inputs[0].type || o.inputs[0].tagName.toLowerCase(),
			list: o.inputs[0].classList.contains('cbi-dynlist-item'), datatype: o.datatype || '',
			def: o.default ?? o.placeholder ?? '', values: o.keylist, title: o.title, help: o.description,
		})));
		const fieldFor = (name) => `[id="widget.cbid.opentracker.main.${name}"]`;
		const setValue = async (name, v) => {
			await page.evaluate((sel, v) => { const i = document.querySelector(sel); i.value = v; i.dispatchEvent(new Event('input')); }, fieldFor(name), v);
		};
		const invalid = (name) => page.evaluate((sel) => document.querySelector(sel).classList.contains('cbi-input-invalid'), fieldFor(name));
		const listInvalid = (name, v) => page.evaluate((sel, v) => {
			const box = document.querySelector(sel), inputs = box.querySelectorAll('input');
			const last = inputs[inputs.length - 1];
			last.value = v; last.dispatchEvent(new Event('input'));
			const bad = last.classList.contains('cbi-input-invalid');
			last.value = ''; last.dispatchEvent(new Event('input'));
			return bad;
		}, fieldFor(name), v);
		const original = await page.evaluate(() => Object.fromEntries(
			[...document.querySelectorAll('input[type=text][id^="widget.cbid."]')].map((i) => [i.id.split('.').pop(), i.value])));
		// Values the init script refuses are refused here too; good ones pass.
		for (const [name, bad, good] of [['port', '70000', '7070'], ['port', 'abc', '6969'], ['memory_budget', '12X', '32M'],
			['memory_budget', '12345678901', '64k'], ['interval', '-5', '900'], ['livesync_listen', '192.168.1.1', '192.168.1.1:9696'],
			['state_file', 'relative/path', '/var/lib/opentracker/state'], ['stats_path', 'a/b', 'private'], ['redirect', 'a\tb', 'https://example.org/']]) {
			await setValue(name, bad);
			check(await invalid(name), `settings: ${name}=${JSON.stringify(bad)} is refused`);
			await setValue(name, good);
			check(!(await invalid(name)), `settings: ${name}=${JSON.stringify(good)} is accepted`);
			await setValue(name, original[name]);
		}
		for (const [name, v, bad] of [['listen_tcp', '1.2.3.4:99999', true], ['listen_tcp', '01.2.3.4.5', true], ['listen_tcp', '[fd00::1]:8080', false],
			['listen_udp', '192.168.1.1', false], ['admin', '10.0.0.0/8', false], ['admin', 'router.lan', true]]) {
			check(await listInvalid(name, v) === bad, `settings: ${name} entry ${v} is ${bad ? 'refused' : 'accepted'}`);
		}
		// Whitelist without a list file is refused, as the init script does.
		await page.select(fieldFor('access_mode'), 'whitelist');
		check(await invalid('access_mode'), 'settings: whitelist without access_list is refused at once');
		await setValue('access_list', '');
		check(await invalid('access_list'), 'settings: whitelist needs access_list');
		await page.click('#save-apply');
		await page.waitForFunction(() => document.querySelector('#save-error').textContent !== '', timeout);
		check(await page.evaluate(() => window.LuCIStandIn.uciChanges.length === 0 && window.LuCIStandIn.applied() === 0),
			'settings: Save & Apply with an invalid field saves nothing');
		await page.select(fieldFor('access_mode'), 'open');
		await setValue('access_list', '');
		check(!(await invalid('access_mode')) && !(await invalid('access_list')), 'settings: open needs no access_list');
		await setValue('access_fifo_add', '/var/run/opentracker/add');
		check(await invalid('access_fifo_add'), 'settings: access pipes need whitelist or blacklist');
		await setValue('access_fifo_add', '');
		// Changing the port and pressing Save & Apply hands uci the new value.
		await setValue('port', '7070');
		await page.click('#save-apply');
		await page.waitForFunction(() => window.LuCIStandIn.applied() === 1, timeout);
		const changes = await page.evaluate(() => window.LuCIStandIn.uciChanges);
		check(JSON.stringify(changes) === JSON.stringify([['set', 'opentracker', 'main', 'port', '7070']]),
			'settings: Save & Apply sets exactly opentracker.main.port=7070, got ' + JSON.stringify(changes));
		check(errors.length === 0, 'settings: no script errors ' + errors.join('; '));
		if (env.OT_SHOTS) {
			await page.evaluate(() => window.scrollTo(0, 0));
			await page.screenshot({ path: path.join(env.OT_SHOTS, 'luci-settings.png'), fullPage: true });
		}
		await page.close();
	}

	// --- the daemon's landing page ---
	step = 'landing page';
	{
		const page = await browser.newPage();
		const resp = await page.goto(`http://${env.OT_HTTP}/`);
		check(resp.status() === 200 && resp.headers()['content-type'].startsWith('text/html'), 'landing: 200 text/html');
		const l = await page.evaluate(() => ({
			title: document.title, http: document.querySelector('#http')?.textContent,
			udp: [...document.querySelectorAll('code.udp')].map((c) => c.textContent),
			json: document.querySelector('#json')?.href, prom: document.querySelector('#prom')?.href,
		}));
		check(l.http === `http://${env.OT_HTTP}/announce`, 'landing: HTTP announce URL ' + l.http);
		check(l.udp.length > 0 && l.udp.every((u) => /^udp:\/\/127\.0\.0\.1:\d+\/announce$/.test(u)), 'landing: UDP announce URL ' + l.udp);
		await page.click('#json');
		const j = await page.evaluate(() => JSON.parse(document.body.innerText));
		check(typeof j.peers?.total === 'number', 'landing: the JSON link leads to the JSON statistics');
		await page.goBack();
		await page.click('#prom');
		check((await page.evaluate(() => document.body.innerText)).includes('# TYPE opentracker_announces_total counter'), 'landing: the Prometheus link leads to the metrics');
		result.landing = l;
		await page.close();
	}
	// --- status view ---
	step = 'status view';
	{
		const { page, errors } = await open('opentracker/status');
		await page.waitForFunction(() => document.querySelector('#opentracker-running')?.textContent === 'Running', timeout);
		const want = env.OT_EXPECT_PEERS;
		await page.waitForFunction((w) => (document.querySelector('#opentracker-peers')?.textContent || '').startsWith(w + ' '), timeout, want);
		// Two polls at least: the plot has points and a rate was computed.
		await page.waitForFunction(() => (document.querySelector('#opentracker-plot-peers')?.getAttribute('points') || '').split(' ').length >= 3, timeout);
		const s = await page.evaluate(() => ({
			peers: document.querySelector('#opentracker-peers').textContent,
			torrents: document.querySelector('#opentracker-torrents').textContent,
			bar: document.querySelector('#opentracker-memory > div').style.width,
			barText: document.querySelector('#opentracker-memory > div').textContent,
			rate: document.querySelector('#opentracker-rate').textContent,
			error: document.querySelector('#opentracker-error').textContent,
			version: document.querySelector('#opentracker-version').textContent,
			calls: window.LuCIStandIn.calls.map((c) => c.object + '.' + c.method),
		}));
		check(s.error === '', 'status: no error shown (' + s.error + ')');
		check(s.torrents.startsWith(env.OT_EXPECT_TORRENTS + ' of at most '), `status: torrents "${s.torrents}"`);
		// The bar shows the daemon's own numbers (the load keeps them still).
		const daemon = await (await fetch(`http://${env.OT_HTTP}/stats?mode=json`)).json();
		const pct = (daemon.memory.peer_arena_used_bytes / daemon.memory.peer_arena_bytes * 100).toFixed(2) + '%';
		check(daemon.memory.peer_arena_used_bytes > 0 && parseFloat(s.bar) === parseFloat(pct), `status: memory bar width "${s.bar}", the daemon's use is ${pct}`);
		check(s.barText.startsWith((daemon.memory.peer_arena_used_bytes / 1024).toFixed(1) + ' KiB of ') &&
			s.barText.endsWith(`(budget ${(daemon.memory.budget_bytes / 1048576).toFixed(1)} MiB)`), `status: memory bar text "${s.barText}"`);
		check(s.peers === `${daemon.peers.total} (IPv4 ${daemon.peers.ipv4}, IPv6 ${daemon.peers.ipv6})`, `status: peers "${s.peers}"`);
		check(s.version !== '-' && s.version !== '', 'status: version shown');
		check(s.calls.includes('service.list') && s.calls.includes('opentracker.stats'), 'status: service.list and opentracker.stats called');
		// Announces while the page is open show up as a rate above zero.
		await page.waitForFunction(() => parseFloat(document.querySelector('#opentracker-rate').textContent) > 0, timeout);
		check(errors.length === 0, 'status: no script errors ' + errors.join('; '));
		result.status = s;
		result.ubus = [...new Set(s.calls)];
		if (env.OT_SHOTS) {
			await page.waitForFunction(() => document.querySelector('#opentracker-plot-rate').getAttribute('points').split(' ').length >= 30, { timeout: 60000 });
			await page.screenshot({ path: path.join(env.OT_SHOTS, 'luci-status.png'), fullPage: true });
		}
		// The plot survives leaving the page and coming back.
		const before = await page.evaluate(() => document.querySelector('#opentracker-plot-peers').getAttribute('points').split(' ').length);
		await page.reload();
		await page.waitForFunction(() => document.body.dataset.rendered, timeout);
		const after = await page.evaluate(() => document.querySelector('#opentracker-plot-peers').getAttribute('points').split(' ').length);
		check(after > before, `status: the plot kept its ${before} points over a reload (now ${after})`);
		// The daemon stops: the page says so, and why there are no numbers.
		step = 'status view after the daemon stopped';
		process.kill(+env.OT_PID, 'SIGTERM');
		await page.waitForFunction(() => document.querySelector('#opentracker-running').textContent === 'Not running', timeout);
		await page.waitForFunction(() => document.querySelector('#opentracker-error').textContent.startsWith('No statistics: the tracker did not answer'), timeout);
		check(true, 'status: a stopped daemon shows as not running, with the reason there are no numbers');
		await page.close();
	}

} catch (e) {
	fail(`${step}: ${e.message}`);
} finally {
	await browser.close();
	server.close();
}
console.log(JSON.stringify(result));
