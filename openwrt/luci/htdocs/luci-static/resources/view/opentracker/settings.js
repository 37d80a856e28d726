'use strict';
'require view';
'require form';

/*
 * Settings of /etc/config/opentracker (section "main"). OPTIONS below is
 * the one list of options: each entry names the UCI option, its tab, its
 * type in the init script's schema (OPENTRACKER_SCHEMA in
 * /etc/init.d/opentracker) and its default there. A test compares this
 * list with the init script's, so an option added there must be added here.
 *
 * Validation follows the init script: validate_data's datatypes where it
 * uses them, and its own checks (listen addresses, memory budget, control
 * characters, access list needed by whitelist/blacklist, access pipes
 * needing a list) as validate functions. What only the router can know
 * (that the user exists, that the list file is there) is left to the init
 * script, which logs it (logread -e opentracker).
 */

function isIPv4(s) {
	if (!/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/.test(s))
		return false;
	return s.split('.').every(function(o) { return +o <= 255; });
}

function isIPv6(s) {
	return /^[0-9A-Fa-f:.]+$/.test(s) && s.indexOf(':') >= 0 &&
		s.indexOf(':::') < 0 && s.split('::').length <= 2;
}

function isPort(s) {
	return /^[0-9]{1,5}$/.test(s) && +s >= 1 && +s <= 65535;
}

/* A listen entry: ip, [ip6], ip6, ip:port or [ip6]:port (opentracker_hostport). */
function checkListen(value, needPort) {
	var host = value, port = null, m;
	if (value === '')
		return true;
	if ((m = /^\[([^\]]*)\]:(.*)$/.exec(value)) != null)
		host = m[1], port = m[2];
	else if ((m = /^\[([^\]]*)\]$/.exec(value)) != null)
		host = m[1];
	else if (/:.*:/.test(value))
		host = value;
	else if ((m = /^(.*):(.*)$/.exec(value)) != null)
		host = m[1], port = m[2];
	if (port !== null && !isPort(port))
		return _('The port must be a number from 1 to 65535');
	if (port === null && needPort)
		return _('Give an address and a port, such as 192.168.1.1:9696');
	if (!isIPv4(host) && !isIPv6(host))
		return _('Expecting an IP address with an optional port');
	return true;
}

function anyListen(value) {
	return checkListen(value, false);
}

function noControl(value) {
	return /[\t\n\r\x7f]/.test(value) ? _('Must not contain control characters') : true;
}

function absolutePath(value) {
	if (value === '')
		return true;
	if (value.charAt(0) !== '/')
		return _('Expecting an absolute path, starting with /');
	return noControl(value);
}

var OPTIONS = [
	{ name: 'enabled', tab: 'network', schema: 'bool', def: '1',
	  title: _('Enable'), help: _('Run the tracker.') },
	{ name: 'port', tab: 'network', schema: 'port', def: '6969',
	  title: _('Port'), help: _('Port of the listen addresses that do not give their own.') },
	{ name: 'listen_tcp', tab: 'network', schema: 'list(string)', validate: anyListen,
	  title: _('HTTP addresses'),
	  help: _('Where HTTP announces and scrapes are answered: 0.0.0.0 (all IPv4), :: (all IPv6), an address of the router, optionally with a port (192.168.1.1:8080, [fd00::1]:8080). No entries turn HTTP off.') },
	{ name: 'listen_udp', tab: 'network', schema: 'list(string)', validate: anyListen,
	  title: _('UDP addresses'), help: _('Where UDP announces (BEP 15) are answered, written as the HTTP addresses. No entries turn UDP off.') },
	{ name: 'redirect', tab: 'network', schema: 'string', validate: noControl,
	  title: _('Redirect'), help: _('Where a browser opening the tracker\'s address is sent. Empty: a short page with the announce URLs.') },
	{ name: 'stats_path', tab: 'network', schema: 'string', def: 'stats',
	  validate: function(v) {
		return /[\/?# \t%]/.test(v) ? _('One path segment: no /, ?, #, % or blanks') : noControl(v);
	  },
	  title: _('Statistics path'), help: _('Path of the statistics page, for example /stats?mode=json.') },
	{ name: 'max_connections', tab: 'network', schema: 'uinteger', def: '1024',
	  title: _('Connections'), help: _('Open HTTP connections at most. When all are taken, the one idle or unfinished the longest makes room.') },
	{ name: 'max_connections_per_address', tab: 'network', schema: 'uinteger', def: '64',
	  title: _('Connections per address'), help: _('Open HTTP connections from one client address at most; 0 means no limit. Trusted proxies are exempt.') },
	{ name: 'idle_timeout', tab: 'network', schema: 'uinteger', def: '30',
	  title: _('Idle timeout'), help: _('Seconds an idle keep-alive connection is kept open.') },
	{ name: 'udp_workers', tab: 'network', schema: 'uinteger', def: '0',
	  title: _('UDP workers'), help: _('Receive loops per UDP address; 0 means one per CPU core.') },

	{ name: 'memory_budget', tab: 'limits', schema: 'string', def: '16M',
	  validate: function(v) {
		return (v === '' || /^[0-9]{1,10}[KkMmGg]?$/.test(v)) ? true : _('Expecting bytes, or a number with K, M or G');
	  },
	  title: _('Memory budget'), help: _('Memory for torrents and peers, taken once at start: bytes or a number with K, M or G. When it is full, new torrents and peers are refused.') },
	{ name: 'max_torrents', tab: 'limits', schema: 'uinteger', def: '0',
	  title: _('Torrents at most'), help: _('0 works it out from the memory budget.') },
	{ name: 'interval', tab: 'limits', schema: 'uinteger', def: '1800',
	  title: _('Announce interval'), help: _('Seconds between announces asked of clients.') },
	{ name: 'peer_timeout', tab: 'limits', schema: 'uinteger', def: '2700',
	  title: _('Peer timeout'), help: _('Seconds after which a silent peer is dropped.') },
	{ name: 'numwant', tab: 'limits', schema: 'uinteger', def: '50',
	  title: _('Peers per reply'), help: _('Peers sent when a client does not say how many it wants.') },
	{ name: 'max_numwant', tab: 'limits', schema: 'uinteger', def: '200',
	  title: _('Peers per reply at most'), help: _('The most peers a client may ask for.') },

	{ name: 'access_mode', tab: 'access', schema: "or('open','whitelist','blacklist')", def: 'open',
	  /* Checked here and at access_list: LuCI validates a field when it
	   * changes, so either change shows the problem. */
	  validate: function(v, section_id) {
		if (v !== 'open' && this.section.formvalue(section_id, 'access_list') === '')
			return _('Whitelist and blacklist need a file of info hashes');
		return true;
	  },
	  values: [ ['open', _('Open: track any torrent')], ['whitelist', _('Whitelist: only listed torrents')], ['blacklist', _('Blacklist: all but listed torrents')] ],
	  title: _('Access'), help: _('Which torrents the tracker accepts.') },
	{ name: 'access_list', tab: 'access', schema: 'string',
	  validate: function(v, section_id) {
		var mode = this.section.formvalue(section_id, 'access_mode');
		if (v === '' && mode && mode !== 'open')
			return _('Whitelist and blacklist need a file of info hashes');
		return absolutePath(v);
	  },
	  title: _('Access list'), help: _('File with one info hash (40 hex digits) a line, read again on every reload.') },
	{ name: 'access_fifo_add', tab: 'access', schema: 'string', validate: checkFIFO,
	  title: _('Pipe for additions'), help: _('Named pipe (made by the init script, owned by the user below): an info hash written to it is listed at once, until the next reload (echo HASH > /var/run/opentracker/add).') },
	{ name: 'access_fifo_delete', tab: 'access', schema: 'string', validate: checkFIFO,
	  title: _('Pipe for removals'), help: _('Named pipe (made by the init script): an info hash written to it is unlisted at once, until the next reload.') },
	{ name: 'admin', tab: 'access', schema: 'list(or(ipaddr,cidr))',
	  title: _('Admin networks'), help: _('Addresses or networks (ip/bits) allowed the statistics, the full scrape and live sync. The status page needs 127.0.0.1 or ::1 here.') },
	{ name: 'proxies', tab: 'access', schema: 'list(or(ipaddr,cidr))',
	  title: _('Trusted proxies'), help: _('Reverse proxies whose X-Forwarded-For header names the real client: the rightmost address in it that is not a trusted proxy.') },
	{ name: 'ip_from_query', tab: 'access', schema: 'bool', def: '0',
	  title: _('Client-given addresses'), help: _('Accept the "ip" parameter of an announce from anyone, not only from admin networks.') },
	{ name: 'full_scrape', tab: 'access', schema: 'bool', def: '1',
	  title: _('Full scrape'), help: _('Allow /scrape without info_hash (every torrent) to admin networks.') },

	{ name: 'livesync_listen', tab: 'livesync', schema: 'string',
	  validate: function(v) { return checkListen(v, true); },
	  title: _('Live sync address'), help: _('ip:port of the local interface that joins the cluster (multicast 224.0.23.5). Empty turns live sync off.') },
	{ name: 'livesync_nodes', tab: 'livesync', schema: 'list(or(ipaddr,cidr))',
	  title: _('Cluster networks'), help: _('Networks of the cluster\'s trackers, whose sync packets are accepted.') },

	{ name: 'state_file', tab: 'system', schema: 'string', validate: absolutePath,
	  title: _('State file'), help: _('Torrents and their peers, with their ages, are saved here every save interval and on stop, and loaded on start, so a restart keeps every swarm. /var is in RAM: kept across restarts, not reboots; a path on flash survives reboots, but each save rewrites it. Empty: no state file.') },
	{ name: 'save_interval', tab: 'system', schema: 'uinteger', def: '60',
	  title: _('Save interval'), help: _('Seconds between saves of the state file; 0 saves only on stop. Raise it (to an hour or more) when the state file is on flash.') },
	{ name: 'user', tab: 'system', schema: 'string', def: 'opentracker', validate: noControl,
	  title: _('User'), help: _('After binding, the daemon drops root and runs as this user: the package\'s own "opentracker" (created at install); "root" keeps root.') },
	{ name: 'chroot', tab: 'system', schema: 'directory', validate: absolutePath,
	  title: _('Change root'), help: _('Directory the daemon changes root to after binding; the access list and state file are then paths inside it.') }
];

function checkFIFO(v, section_id) {
	var mode = this.section.formvalue(section_id, 'access_mode');
	if (v !== '' && mode === 'open')
		return _('Pipes need access set to whitelist or blacklist');
	return absolutePath(v);
}

var TABS = [
	['network', _('Network')],
	['limits', _('Limits')],
	['access', _('Access list')],
	['livesync', _('Live sync')],
	['system', _('System')]
];

/* The form widget and LuCI datatype for a schema type. */
function widgetFor(opt) {
	var m;
	if (opt.schema === 'bool')
		return [form.Flag, null];
	if (opt.values)
		return [form.ListValue, null];
	if ((m = /^list\((.*)\)$/.exec(opt.schema)) != null)
		return [form.DynamicList, m[1] === 'string' ? null : m[1]];
	if (opt.schema === 'port' || opt.schema === 'uinteger')
		return [form.Value, opt.schema];
	return [form.Value, null];
}

return view.extend({
	options: OPTIONS,

	render: function() {
		var m = new form.Map('opentracker', _('BitTorrent tracker'),
			_('Settings of the tracker. Save & Apply restarts it when needed; a wrong value is logged (System log, "opentracker") and the running tracker is kept.'));
		var s = m.section(form.NamedSection, 'main', 'opentracker');
		s.anonymous = true;
		s.addremove = false;
		TABS.forEach(function(t) { s.tab(t[0], t[1]); });

		OPTIONS.forEach(function(opt) {
			var w = widgetFor(opt);
			var o = s.taboption(opt.tab, w[0], opt.name, opt.title, opt.help);
			if (w[1])
				o.datatype = w[1];
			if (w[0] === form.Flag) {
				o.enabled = '1';
				o.disabled = '0';
				o.default = opt.def;
				o.rmempty = false;
			} else if (opt.values) {
				opt.values.forEach(function(v) { o.value(v[0], v[1]); });
				o.default = opt.def;
			} else if (opt.def != null) {
				o.placeholder = opt.def;
			}
			if (opt.validate) {
				var check = opt.validate;
				o.validate = function(section_id, value) {
					return check.call(this, value == null ? '' : value, section_id);
				};
			}
		});
		return m.render();
	}
});
