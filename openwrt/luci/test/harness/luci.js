/*
 * A stand-in for the parts of LuCI's client API (luci-base's luci.js,
 * form.js, rpc.js, uci.js, validation.js) that the views of
 * luci-app-opentracker use, written for these tests; it is not LuCI's code.
 * Each part says which LuCI behaviour it models. What it does not model:
 * themes, the changes/apply dialog and rollback, translations (_() returns
 * the English text), sessions and ACL checks (rpcd enforces those; the
 * tests check the ACL file's shape instead).
 */
(function() {
	'use strict';

	var calls = [];        /* every ubus call the views made */
	var uciChanges = [];   /* uci set/unset, in order, as LuCI's uci.js queues them */
	var applied = 0;       /* Save & Apply presses that reached apply */

	/* LuCI's String.prototype.format: %d, %s, %f (with precision), %%. */
	String.prototype.format = function() {
		var args = arguments, i = 0;
		return this.replace(/%(\.\d+)?([dsf%])/g, function(m, prec, t) {
			if (t === '%') return '%';
			var v = args[i++];
			if (t === 'd') return String(Math.floor(+v || 0));
			if (t === 'f') return (+v).toFixed(prec ? +prec.slice(1) : 6);
			return String(v);
		});
	};

	/* LuCI's global _(): the translation lookup; here the English text. */
	window._ = function(s) { return s; };

	/* LuCI's E(tag, attrs, children): attributes set as given, "class" too;
	 * children: a node, a string (text) or an array of either. */
	window.E = function(tag, attrs, children) {
		var el = document.createElement(tag);
		if (attrs != null && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
			children = attrs; attrs = null;
		}
		Object.keys(attrs || {}).forEach(function(k) {
			var v = attrs[k];
			if (typeof v === 'function') el.addEventListener(k.replace(/^click$/, 'click'), v);
			else if (v != null) el.setAttribute(k, v);
		});
		(Array.isArray(children) ? children : [children]).forEach(function(c) {
			if (c == null) return;
			el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
		});
		return el;
	};

	/* LuCI's baseclass.extend: a constructor whose prototype holds the
	 * given members, with __init__ run on construction. */
	function extend(base, members) {
		var C = function() { if (this.__init__) this.__init__.apply(this, arguments); };
		C.prototype = Object.create(base.prototype);
		Object.keys(members).forEach(function(k) { C.prototype[k] = members[k]; });
		C.extend = function(m) { return extend(C, m); };
		return C;
	}
	var Base = function() {};

	/* rpc.declare: a function whose arguments are mapped onto params in
	 * order; "expect" picks a key of the reply ('' = the whole reply) and
	 * falls back to the expect value when it is missing or of another type.
	 * The call is a POST to the harness server, which answers as rpcd would. */
	var rpc = {
		declare: function(d) {
			return function() {
				var args = {}, a = arguments;
				(d.params || []).forEach(function(p, i) { if (i < a.length) args[p] = a[i]; });
				calls.push({ object: d.object, method: d.method, args: args });
				return fetch('/ubus', { method: 'POST', body: JSON.stringify({ object: d.object, method: d.method, args: args }) })
					.then(function(r) { return r.json(); })
					.then(function(res) {
						if (!d.expect) return res;
						var k = Object.keys(d.expect)[0], def = d.expect[k];
						var v = k === '' ? res : (res ? res[k] : undefined);
						if (v == null || typeof v !== typeof def) return def;
						return v;
					});
			};
		}
	};

	/* poll.add(fn, seconds): LuCI's poller calls fn every `seconds` seconds
	 * (waiting for the previous call's promise). The tests may speed time up
	 * with ?pollscale=0.1. */
	var scale = +(new URLSearchParams(location.search).get('pollscale') || 1);
	var poll = {
		add: function(fn, seconds) {
			var tick = function() {
				Promise.resolve(fn()).catch(function(e) { console.error(e); }).then(function() {
					setTimeout(tick, (seconds || 5) * 1000 * scale);
				});
			};
			setTimeout(tick, (seconds || 5) * 1000 * scale);
		}
	};

	/* uci: load reads the configuration as LuCI's uci.js gets it from rpcd
	 * ("uci get": sections with .name/.type, options as strings, lists as
	 * arrays); set/unset queue changes; save hands them over. */
	var uciData = {};
	var uci = {
		load: function(conf) {
			return fetch('/uci/' + conf).then(function(r) { return r.json(); }).then(function(d) { uciData[conf] = d; });
		},
		get: function(conf, sid, opt) {
			var s = (uciData[conf] || {})[sid];
			return s == null ? null : (opt == null ? s : s[opt]);
		},
		set: function(conf, sid, opt, val) { uciChanges.push(['set', conf, sid, opt, val]); uciData[conf][sid][opt] = val; },
		unset: function(conf, sid, opt) { uciChanges.push(['unset', conf, sid, opt]); delete uciData[conf][sid][opt]; },
		save: function() { return Promise.resolve(); }
	};

	/* The subset of LuCI's datatypes (validation.js) the settings view
	 * uses: port, uinteger, ipaddr (IPv4/IPv6, optional /mask), cidr, or().
	 * As in LuCI, an empty value of an optional field skips the datatype,
	 * and the option's validate() runs after the datatype passed, also on
	 * empty values; it returns true or the error text. */
	var ip4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
	function isIP6(s) { return /^[0-9a-fA-F:.]+$/.test(s) && s.indexOf(':') >= 0 && s.split('::').length <= 2 && s.indexOf(':::') < 0; }
	var types = {
		port: function(v) { return /^\d+$/.test(v) && +v <= 65535; },
		uinteger: function(v) { return /^\d+$/.test(v); },
		ipaddr: function(v) { var p = v.split('/'); return p.length <= 2 && (ip4.test(p[0]) || isIP6(p[0])) && (p.length < 2 || /^\d+$/.test(p[1]) || ip4.test(p[1])); },
		cidr: function(v) { var p = v.split('/'); return p.length === 2 && (ip4.test(p[0]) || isIP6(p[0])) && /^\d+$/.test(p[1]); }
	};
	function checkType(expr, v) {
		var m = /^or\((.*)\)$/.exec(expr);
		if (m) return m[1].split(',').some(function(t) { return checkType(t.trim(), v); });
		if (!types[expr]) throw new Error('stand-in: unknown datatype ' + expr);
		return types[expr](v);
	}

	/* form: Map > NamedSection > tabs > options, rendered as LuCI renders
	 * them closely enough for the tests: every widget's id is
	 * "widget.cbid.<config>.<section>.<option>", a row per option with class
	 * cbi-value and data-name, invalid inputs get "cbi-input-invalid" and the
	 * error as their title, and save() refuses while any field is invalid
	 * (LuCI: "Some fields are invalid, cannot save values!"). As in LuCI, a
	 * field is validated when it is rendered and when it changes, not when
	 * another field changes; save() goes by those results. */
	var AbstractValue = extend(Base, {
		__init__: function(map, section, name, title, description) {
			this.map = map; this.section = section; this.option = name;
			this.title = title; this.description = description;
			this.rmempty = true; this.keylist = []; this.vallist = [];
		},
		validate: function() { return true; },
		value: function(k, v) { this.keylist.push(k); this.vallist.push(v); },
		cfgvalue: function(sid) { return uci.get(this.map.config, sid, this.option); },
		cid: function(sid) { return 'widget.cbid.' + this.map.config + '.' + sid + '.' + this.option; },
		check: function(sid, v) {
			if (v !== '' && this.datatype && !checkType(this.datatype, v)) return 'Expecting: ' + this.datatype;
			var r = this.validate(sid, v);
			return r === true || r == null ? true : r;
		},
		mark: function(input, sid) {
			var r = this.check(sid, input.value);
			input.classList.toggle('cbi-input-invalid', r !== true);
			input.title = r === true ? '' : r;
			input.dataset.valid = r === true ? '1' : '';
			return r === true;
		},
		/* The results of the last validation of each input. */
		lastValid: function() { return this.inputs.every(function(i) { return i.dataset.valid !== ''; }); }
	});
	var Value = extend(AbstractValue, {
		widget: function(sid) {
			var self = this, v = this.cfgvalue(sid);
			var input = E('input', { type: 'text', id: this.cid(sid), placeholder: this.placeholder || '' });
			input.value = v == null ? '' : v;
			input.addEventListener('input', function() { self.valid(sid); });
			this.inputs = [input];
			return input;
		},
		formvalue: function() { return this.inputs[0].value; },
		valid: function(sid) { return this.mark(this.inputs[0], sid); },
		store: function(sid) {
			var v = this.formvalue(), old = this.cfgvalue(sid);
			if (v === (old == null ? '' : old)) return;
			if (v === '' && this.rmempty) uci.unset(this.map.config, sid, this.option);
			else uci.set(this.map.config, sid, this.option, v);
		}
	});
	var Flag = extend(Value, {
		widget: function(sid) {
			var self = this, v = this.cfgvalue(sid);
			if (v == null) v = this.default;
			var input = E('input', { type: 'checkbox', id: this.cid(sid) });
			input.checked = v === this.enabled;
			input.addEventListener('change', function() { self.valid(sid); });
			this.inputs = [input];
			return input;
		},
		formvalue: function() { return this.inputs[0].checked ? this.enabled : this.disabled; },
		valid: function() { return true; },
		lastValid: function() { return true; },
		store: function(sid) {
			var v = this.formvalue(), old = this.cfgvalue(sid);
			if (old == null ? v !== this.default : v !== old) uci.set(this.map.config, sid, this.option, v);
		}
	});
	var ListValue = extend(Value, {
		widget: function(sid) {
			var self = this, v = this.cfgvalue(sid);
			if (v == null) v = this.default;
			var sel = E('select', { id: this.cid(sid) }, this.keylist.map(function(k, i) { return E('option', { value: k }, self.vallist[i]); }));
			sel.value = v;
			sel.addEventListener('change', function() { self.valid(sid); });
			this.inputs = [sel];
			return sel;
		},
		valid: function(sid) { return this.mark(this.inputs[0], sid); },
		store: function(sid) {
			var v = this.formvalue(), old = this.cfgvalue(sid);
			if (old == null ? v !== this.default : v !== old) uci.set(this.map.config, sid, this.option, v);
		}
	});
	/* DynamicList: one input per item plus an empty one to add an item;
	 * each item is validated on its own, as LuCI's ui.DynamicList does. */
	var DynamicList = extend(Value, {
		widget: function(sid) {
			var self = this, v = this.cfgvalue(sid);
			var items = v == null ? [] : (Array.isArray(v) ? v : [v]);
			var box = E('div', { id: this.cid(sid), 'class': 'cbi-dynlist' });
			this.inputs = [];
			items.concat(['']).forEach(function(it) {
				var input = E('input', { type: 'text', 'class': 'cbi-dynlist-item' });
				input.value = it;
				input.addEventListener('input', function() { self.valid(sid); });
				self.inputs.push(input);
				box.appendChild(input);
			});
			return box;
		},
		formvalue: function() { return this.inputs.map(function(i) { return i.value; }).filter(function(v) { return v !== ''; }); },
		valid: function(sid) {
			var self = this;
			return this.inputs.map(function(i) {
				if (i.value !== '') return self.mark(i, sid);
				i.classList.remove('cbi-input-invalid');
				i.dataset.valid = '1';
				return true;
			}).every(Boolean);
		},
		store: function(sid) {
			var v = this.formvalue(), old = this.cfgvalue(sid);
			old = old == null ? [] : (Array.isArray(old) ? old : [old]);
			if (JSON.stringify(v) === JSON.stringify(old)) return;
			if (v.length === 0) uci.unset(this.map.config, sid, this.option);
			else uci.set(this.map.config, sid, this.option, v);
		}
	});
	var NamedSection = extend(Base, {
		__init__: function(map, sid, type) { this.map = map; this.sid = sid; this.sectiontype = type; this.tabs = []; this.children = []; },
		tab: function(name, title) { this.tabs.push({ name: name, title: title }); },
		taboption: function(tab, cls, name, title, desc) {
			if (!this.tabs.some(function(t) { return t.name === tab; })) throw new Error('stand-in: no tab ' + tab);
			var o = new cls(this.map, this, name, title, desc);
			o.tab = tab;
			this.children.push(o);
			return o;
		},
		option: function(cls, name, title, desc) { var o = new cls(this.map, this, name, title, desc); this.children.push(o); return o; },
		/* LuCI: the current (unsaved) value of another option's widget. */
		formvalue: function(sid, name) {
			var o = this.children.filter(function(c) { return c.option === name; })[0];
			return o && o.inputs ? o.formvalue(sid) : null;
		}
	});
	var maps = [];
	var Map = extend(Base, {
		__init__: function(config, title, description) { this.config = config; this.title = title; this.description = description; this.sections = []; maps.push(this); },
		section: function(cls, sid, type) { var s = new cls(this, sid, type); this.sections.push(s); return s; },
		revalidate: function() {
			var sec = this.sections;
			return sec.every(function(s) { return s.children.map(function(o) { return o.valid(s.sid); }).every(Boolean); });
		},
		render: function() {
			var self = this;
			return uci.load(this.config).then(function() {
				var root = E('div', { 'class': 'cbi-map', id: 'cbi-' + self.config }, [E('h2', {}, self.title), E('div', { 'class': 'cbi-map-descr' }, self.description)]);
				self.sections.forEach(function(s) {
					var menu = E('ul', { 'class': 'cbi-tabmenu' });
					var body = E('div', { 'class': 'cbi-section' }, [menu]);
					s.tabs.forEach(function(t, i) {
						var pane = E('div', { 'class': 'cbi-tabcontainer', 'data-tab': t.name, style: i ? 'display:none' : '' });
						var li = E('li', { 'class': i ? 'cbi-tab-disabled' : 'cbi-tab', 'data-tab': t.name }, t.title);
						li.addEventListener('click', function() {
							body.querySelectorAll('.cbi-tabcontainer').forEach(function(p) { p.style.display = p === pane ? '' : 'none'; });
							menu.querySelectorAll('li').forEach(function(l) { l.className = l === li ? 'cbi-tab' : 'cbi-tab-disabled'; });
						});
						menu.appendChild(li);
						s.children.filter(function(o) { return o.tab === t.name; }).forEach(function(o) {
							pane.appendChild(E('div', { 'class': 'cbi-value', 'data-name': o.option }, [
								E('label', { 'class': 'cbi-value-title', 'for': o.cid(s.sid) }, o.title),
								E('div', { 'class': 'cbi-value-field' }, [o.widget(s.sid), E('div', { 'class': 'cbi-value-description' }, o.description)])
							]));
						});
						body.appendChild(pane);
					});
					root.appendChild(body);
				});
				self.revalidate();
				return root;
			});
		},
		save: function() {
			var self = this;
			var ok = this.sections.every(function(s) { return s.children.every(function(o) { return o.lastValid(); }); });
			if (!ok)
				return Promise.reject(new Error('Some fields are invalid, cannot save values!'));
			this.sections.forEach(function(s) { s.children.forEach(function(o) { o.store(s.sid); }); });
			return uci.save();
		}
	});
	var form = { Map: Map, NamedSection: NamedSection, Value: Value, Flag: Flag, ListValue: ListValue, DynamicList: DynamicList };

	/* view: LuCI constructs the view, runs load(), then render(load's
	 * result), puts the node into #view and, unless handleSaveApply/
	 * handleSave/handleReset are null, adds the page's action buttons.
	 * handleSave saves every form.Map; handleSaveApply then applies. */
	var view = {
		extend: function(members) {
			return extend(Base, Object.assign({
				load: function() {},
				handleSave: function() { return Promise.all(maps.map(function(m) { return m.save(); })); },
				handleSaveApply: function() { return this.handleSave().then(function() { applied++; }); },
				handleReset: function() {},
				__init__: function() {
					var self = this, vp = document.getElementById('view');
					Promise.resolve(this.load()).then(function(d) { return self.render(d); }).then(function(node) {
						vp.appendChild(node);
						if (self.handleSaveApply) {
							var err = E('div', { 'class': 'error', id: 'save-error' });
							var btn = E('button', { 'class': 'cbi-button cbi-button-apply', id: 'save-apply' }, 'Save & Apply');
							btn.addEventListener('click', function() {
								err.textContent = '';
								self.handleSaveApply().catch(function(e) { err.textContent = e.message; });
							});
							vp.appendChild(E('div', { 'class': 'cbi-page-actions' }, [err, btn]));
						}
						document.body.setAttribute('data-rendered', '1');
					}).catch(function(e) { document.body.setAttribute('data-error', String(e && e.stack || e)); });
				}
			}, members));
		}
	};

	var modules = { view: view, form: form, rpc: rpc, poll: poll, uci: uci };

	/* LuCI's loader: fetch the view's source, read its 'require x'
	 * directives, and run it as a function of those modules; its return
	 * value is the view class, which is then instantiated. */
	window.LuCIStandIn = {
		calls: calls, uciChanges: uciChanges,
		applied: function() { return applied; },
		maps: maps,
		boot: function(name) {
			fetch('/luci-static/resources/view/' + name + '.js').then(function(r) { return r.text(); }).then(function(src) {
				var names = [], re = /^\s*'require ([\w.]+)';/gm, m;
				while ((m = re.exec(src)) != null) {
					if (!modules[m[1]]) throw new Error('stand-in: the view requires ' + m[1] + ', which is not modelled');
					names.push(m[1]);
				}
				var Klass = new Function(names.join(','), src).apply(null, names.map(function(n) { return modules[n]; }));
				window.LuCIStandIn.view = new Klass();
			}).catch(function(e) { document.body.setAttribute('data-error', String(e && e.stack || e)); });
		}
	};
})();
