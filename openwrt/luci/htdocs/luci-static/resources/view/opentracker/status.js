'use strict';
'require view';
'require rpc';
'require poll';

/*
 * Status of the tracker: whether procd runs it (ubus service list), and the
 * daemon's numbers from /stats?mode=json, fetched over loopback by the
 * rpcd plugin /usr/libexec/rpcd/opentracker (ubus object "opentracker").
 * The plot keeps the last hour of polls in the browser tab's session
 * storage: it starts when the page is first opened and survives a visit to
 * another page.
 */

var POLL_SECONDS = 5;
var HISTORY_SECONDS = 3600;
var HISTORY_KEY = 'luci-app-opentracker.history';

function loadHistory() {
	try {
		var h = JSON.parse(window.sessionStorage.getItem(HISTORY_KEY));
		if (h && Array.isArray(h.points))
			return h;
	} catch (e) {}
	return { points: [], last: null };
}

function saveHistory(points, last) {
	try {
		window.sessionStorage.setItem(HISTORY_KEY, JSON.stringify({ points: points, last: last }));
	} catch (e) {}
}

var callServiceList = rpc.declare({
	object: 'service',
	method: 'list',
	params: [ 'name' ],
	expect: { '': {} }
});

var callStats = rpc.declare({
	object: 'opentracker',
	method: 'stats',
	expect: { '': {} }
});

function running(list) {
	var instances = (list && list.opentracker && list.opentracker.instances) || {};
	return Object.keys(instances).some(function(k) { return instances[k].running; });
}

function totalAnnounces(st) {
	var n = 0, a = st.announces || {};
	Object.keys(a).forEach(function(proto) {
		Object.keys(a[proto]).forEach(function(fam) {
			Object.keys(a[proto][fam]).forEach(function(res) { n += a[proto][fam][res]; });
		});
	});
	return n;
}

function fmtBytes(n) {
	var units = [ 'B', 'KiB', 'MiB', 'GiB' ], i = 0;
	while (n >= 1024 && i < units.length - 1)
		n /= 1024, i++;
	return (i ? n.toFixed(1) : n) + ' ' + units[i];
}

function fmtUptime(s) {
	var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
	return (d ? d + 'd ' : '') + h + 'h ' + m + 'm';
}

var SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, children) {
	var el = document.createElementNS(SVG_NS, tag);
	Object.keys(attrs || {}).forEach(function(k) { el.setAttribute(k, attrs[k]); });
	(children || []).forEach(function(c) { el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
	return el;
}

return view.extend({
	history: null,
	last: null,
	root: null,

	load: function() {
		return Promise.all([ callServiceList('opentracker'), callStats() ]);
	},

	row: function(id, label) {
		return E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'width': '33%' }, label),
			E('td', { 'class': 'td left', 'id': id }, '-')
		]);
	},

	set: function(id, text) {
		var el = this.root.querySelector('#' + id);
		if (el)
			el.textContent = text;
	},

	/* Redraws the plot: peers and announces per second, each scaled to its own maximum. */
	plot: function() {
		var box = this.root.querySelector('#opentracker-plot');
		if (!box)
			return;
		var W = 600, H = 160, now = Date.now() / 1000, h = this.history;
		/* The x axis spans the polls so far, up to an hour. */
		var span = h.length ? Math.max(now - h[0].t, 1) : HISTORY_SECONDS;
		var maxPeers = 1, maxRate = 1;
		h.forEach(function(p) { maxPeers = Math.max(maxPeers, p.peers); maxRate = Math.max(maxRate, p.rate); });
		var line = function(key, max) {
			return h.map(function(p) {
				var x = W - (now - p.t) / span * W;
				var y = H - p[key] / max * (H - 10);
				return x.toFixed(1) + ',' + y.toFixed(1);
			}).join(' ');
		};
		while (box.firstChild)
			box.removeChild(box.firstChild);
		box.appendChild(svg('svg', { 'viewBox': '0 0 ' + W + ' ' + H, 'width': '100%', 'height': H, 'role': 'img',
			'aria-label': _('Peers and announces per second over the last hour') }, [
			svg('rect', { 'x': 0, 'y': 0, 'width': W, 'height': H, 'fill': 'none', 'stroke': '#ccc' }),
			svg('polyline', { 'id': 'opentracker-plot-peers', 'points': line('peers', maxPeers), 'fill': 'none', 'stroke': '#2c7fb8', 'stroke-width': 2 }),
			svg('polyline', { 'id': 'opentracker-plot-rate', 'points': line('rate', maxRate), 'fill': 'none', 'stroke': '#e6550d', 'stroke-width': 2 })
		]));
		this.set('opentracker-plot-legend', _('Blue: peers (up to %d). Orange: announces per second (up to %s). Polled every %d seconds for %d min, since the page was first opened in this tab (at most an hour).')
			.format(maxPeers, maxRate.toFixed(1), POLL_SECONDS, Math.ceil(span / 60)));
	},

	update: function(list, st) {
		this.set('opentracker-running', running(list) ? _('Running') : _('Not running'));
		if (!st || st.error || st.peers == null) {
			this.set('opentracker-error', st && st.error ? _('No statistics: %s').format(st.error) : _('No statistics'));
			return;
		}
		this.set('opentracker-error', '');
		var now = Date.now() / 1000, total = totalAnnounces(st), rate = 0;
		if (this.last && now > this.last.t && total >= this.last.total)
			rate = (total - this.last.total) / (now - this.last.t);
		this.last = { t: now, total: total };

		this.set('opentracker-version', st.version);
		this.set('opentracker-uptime', fmtUptime(st.uptime_seconds));
		this.set('opentracker-torrents', _('%d of at most %d').format(st.torrents, st.memory.torrent_capacity));
		this.set('opentracker-peers', _('%d (IPv4 %d, IPv6 %d)').format(st.peers.total, st.peers.ipv4, st.peers.ipv6));
		this.set('opentracker-seeders', '%d / %d'.format(st.peers.seeders, st.peers.leechers));
		this.set('opentracker-completed', String(st.completed));
		this.set('opentracker-rate', rate.toFixed(1));
		this.set('opentracker-refused', _('%d full, %d not authorized').format(st.refused.full, st.refused.not_authorized));

		var m = st.memory, pct = m.peer_arena_bytes ? m.peer_arena_used_bytes / m.peer_arena_bytes * 100 : 0;
		var bar = this.root.querySelector('#opentracker-memory');
		if (bar) {
			bar.setAttribute('title', '%.2f%%'.format(pct));
			bar.firstElementChild.style.width = pct.toFixed(2) + '%';
			bar.firstElementChild.textContent = _('%s of %s for peers (budget %s)').format(
				fmtBytes(m.peer_arena_used_bytes), fmtBytes(m.peer_arena_bytes), fmtBytes(m.budget_bytes));
		}

		this.history.push({ t: now, peers: st.peers.total, rate: rate });
		while (this.history.length && now - this.history[0].t > HISTORY_SECONDS)
			this.history.shift();
		saveHistory(this.history, this.last);
		this.plot();
	},

	render: function(data) {
		var saved = loadHistory();
		this.history = saved.points;
		this.last = saved.last;
		var node = E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, _('BitTorrent tracker')),
			E('div', { 'class': 'cbi-section' }, [
				E('p', { 'id': 'opentracker-error', 'class': 'alert-message warning' }, ''),
				E('table', { 'class': 'table' }, [
					this.row('opentracker-running', _('Service')),
					this.row('opentracker-version', _('Version')),
					this.row('opentracker-uptime', _('Uptime')),
					this.row('opentracker-torrents', _('Torrents')),
					this.row('opentracker-peers', _('Peers')),
					this.row('opentracker-seeders', _('Seeders / leechers')),
					this.row('opentracker-completed', _('Completed downloads')),
					this.row('opentracker-rate', _('Announces per second')),
					this.row('opentracker-refused', _('Refused announces')),
					E('tr', { 'class': 'tr' }, [
						E('td', { 'class': 'td left' }, _('Memory')),
						E('td', { 'class': 'td left' }, E('div', { 'class': 'cbi-progressbar', 'id': 'opentracker-memory', 'title': '0%' }, E('div', { 'style': 'width:0%' }, '')))
					])
				])
			]),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Peers and announces')),
				E('div', { 'id': 'opentracker-plot' }),
				E('p', { 'id': 'opentracker-plot-legend' }, '')
			])
		]);
		var self = this;
		this.root = node;
		this.update(data[0], data[1]);
		poll.add(function() {
			return Promise.all([ callServiceList('opentracker'), callStats() ]).then(function(r) { self.update(r[0], r[1]); });
		}, POLL_SECONDS);
		return node;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
