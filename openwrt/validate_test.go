package openwrt

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// valueCase is one kind of UCI value: what OpenWrt's real validate_data
// makes of it (the stand-in must print the same), and what
// init.d/opentracker then does with it, checked by the real daemon.
type valueCase struct {
	uci      string // UCI lines of the section under test
	export   string // the real validate_data's standard output for the option
	valid    bool   // its exit status is 0 (255 otherwise)
	recorded bool   // one of the ten values where the real one was recorded differing from the former stand-in
	// Through the init script: "" for a stopped service, "err" for a
	// refusal, else a line the generated TOML holds.
	toml string
	err  string // the one message naming the option, with "err"
}

const (
	expBool = "(expected bool: 1, yes, on, true, enabled or 0, no, off, false, disabled)"
	expUint = "(expected uinteger: decimal digits, no leading zero)"
	expPort = "(expected port: 1 to 65535)"
	expNet  = "is invalid (expected an IP address or network ip/bits)"
)

// valueCases are 68 kinds of value over every datatype the script uses.
// The real validate_data's answers come from the runs recorded under
// OpenWrt's own userland (the ten marked recorded are where it differed
// from the former stand-in) and, for the values added here, from procd's
// validate/cli.c and libvalidate: bool matched by strcasecmp but converted
// in lower case only, uinteger as strtoul base 0 after an isxdigit check,
// port and cidr prefixes as strtoul base 10 into an int, addresses by
// inet_pton, a list's status by its last item.
var valueCases = []valueCase{
	// bool
	{uci: "option enabled '1'", export: "enabled=1; ", valid: true, toml: "[announce]"},
	{uci: "option enabled '0'", export: "enabled=0; ", valid: true},
	{uci: "option enabled 'yes'", export: "enabled=1; ", valid: true, toml: "[announce]"},
	{uci: "option enabled 'no'", export: "enabled=0; ", valid: true},
	{uci: "option enabled 'on'", export: "enabled=1; ", valid: true, toml: "[announce]"},
	{uci: "option enabled 'off'", export: "enabled=0; ", valid: true},
	{uci: "option enabled 'true'", export: "enabled=1; ", valid: true, toml: "[announce]"},
	{uci: "option enabled 'false'", export: "enabled=0; ", valid: true},
	{uci: "option enabled 'enabled'", export: "enabled=1; ", valid: true, toml: "[announce]"},
	{uci: "option enabled 'disabled'", export: "enabled=0; ", valid: true},
	{uci: "option enabled 'TRUE'", export: "enabled=; ", valid: true, recorded: true, toml: "[announce]"},
	{uci: "option enabled 'Yes'", export: "enabled=; ", valid: true, toml: "[announce]"},
	{uci: "option full_scrape 'Yes'", export: "full_scrape=; ", valid: true, recorded: true, toml: "full_scrape = true"},
	{uci: "option enabled 'OFF'", export: "enabled=; ", valid: true},
	{uci: "option ip_from_query 'On'", export: "ip_from_query=; ", valid: true, toml: "ip_from_query = true"},
	{uci: "option enabled 'maybe'", export: "unset -v enabled; ", toml: "err", err: "opentracker.main.enabled='maybe' is invalid " + expBool},
	{uci: "option enabled '2'", export: "unset -v enabled; ", toml: "err", err: "opentracker.main.enabled='2' is invalid " + expBool},
	// uinteger
	{uci: "option interval '900'", export: "interval=900; ", valid: true, toml: "interval = 900"},
	{uci: "option interval '0x10'", export: "interval=0x10; ", valid: true, recorded: true, toml: "err", err: "opentracker.main.interval='0x10' is invalid " + expUint},
	{uci: "option interval '0X1F'", export: "interval=0X1F; ", valid: true, toml: "err", err: "opentracker.main.interval='0X1F' is invalid " + expUint},
	{uci: "option interval '010'", export: "interval=010; ", valid: true, toml: "err", err: "opentracker.main.interval='010' is invalid " + expUint},
	{uci: "option interval '08'", export: "unset -v interval; ", toml: "err", err: "opentracker.main.interval='08' is invalid " + expUint},
	{uci: "option interval '+5'", export: "unset -v interval; ", toml: "err", err: "opentracker.main.interval='+5' is invalid " + expUint},
	{uci: "option interval '-5'", export: "unset -v interval; ", toml: "err", err: "opentracker.main.interval='-5' is invalid " + expUint},
	{uci: "option interval ' 900'", export: "unset -v interval; ", toml: "err", err: "opentracker.main.interval=' 900' is invalid " + expUint},
	{uci: "option interval 'soon'", export: "unset -v interval; ", toml: "err", err: "opentracker.main.interval='soon' is invalid " + expUint},
	{uci: "option interval 'abc'", export: "unset -v interval; ", toml: "err", err: "opentracker.main.interval='abc' is invalid " + expUint},
	{uci: "option interval '1e3'", export: "unset -v interval; ", toml: "err", err: "opentracker.main.interval='1e3' is invalid " + expUint},
	{uci: "option interval '99999999999999999999'", export: "interval=99999999999999999999; ", valid: true, toml: "err", err: "opentracker.main.interval='99999999999999999999' is invalid " + expUint},
	{uci: "option interval '30'", export: "interval=30; ", valid: true, toml: "err", err: "opentracker.main.interval: 30 seconds is outside 60..86400"},
	{uci: "option max_torrents '0'", export: "max_torrents=0; ", valid: true, toml: "max_torrents = 0"},
	// port (the UDP listen entry takes it)
	{uci: "option port '80'", export: "port=80; ", valid: true, toml: `udp = ["127.0.0.1:80"]`},
	{uci: "option port '65535'", export: "port=65535; ", valid: true, toml: `udp = ["127.0.0.1:65535"]`},
	{uci: "option port '080'", export: "port=080; ", valid: true, toml: `udp = ["127.0.0.1:80"]`},
	{uci: "option port '0'", export: "port=0; ", valid: true, toml: "err", err: "opentracker.main.port='0' is invalid " + expPort},
	{uci: "option port '65536'", export: "unset -v port; ", toml: "err", err: "opentracker.main.port='65536' is invalid " + expPort},
	{uci: "option port '-1'", export: "port=-1; ", valid: true, recorded: true, toml: "err", err: "opentracker.main.port='-1' is invalid " + expPort},
	{uci: "option port '+80'", export: "port=+80; ", valid: true, recorded: true, toml: "err", err: "opentracker.main.port='+80' is invalid " + expPort},
	{uci: "option port ' 80'", export: "port= 80; ", valid: true, toml: "err", err: "opentracker.main.port=' 80' is invalid " + expPort},
	{uci: "option port 'http'", export: "unset -v port; ", toml: "err", err: "opentracker.main.port='http' is invalid " + expPort},
	{uci: "option port '99999999999999999999'", export: "port=99999999999999999999; ", valid: true, toml: "err", err: "opentracker.main.port='99999999999999999999' is invalid " + expPort},
	// a choice of strings
	{uci: "option access_mode 'open'", export: "access_mode='open'; ", valid: true, toml: `mode = "open"`},
	{uci: "option access_mode 'blacklist'", export: "access_mode='blacklist'; ", valid: true, toml: "err", err: "opentracker.main.access_mode='blacklist' needs access_list (a file of info hashes)"},
	{uci: "option access_mode 'Open'", export: "unset -v access_mode; ", toml: "err", err: "opentracker.main.access_mode='Open' is invalid (expected one of open, whitelist, blacklist)"},
	{uci: "option access_mode 'closed'", export: "unset -v access_mode; ", toml: "err", err: "opentracker.main.access_mode='closed' is invalid (expected one of open, whitelist, blacklist)"},
	// list(or(ipaddr,cidr))
	{uci: "list admin '192.168.1.1'", export: "admin='192.168.1.1'; ", valid: true, toml: `admin = ["192.168.1.1"]`},
	{uci: "list admin '192.168.1.0/24'", export: "admin='192.168.1.0/24'; ", valid: true, toml: `admin = ["192.168.1.0/24"]`},
	{uci: "list admin '::1'", export: "admin='::1'; ", valid: true, toml: `admin = ["::1"]`},
	{uci: "list admin 'fd00::/8'", export: "admin='fd00::/8'; ", valid: true, toml: `admin = ["fd00::/8"]`},
	{uci: "list admin '::ffff:1.2.3.4'", export: "admin='::ffff:1.2.3.4'; ", valid: true, toml: `admin = ["::ffff:1.2.3.4"]`},
	{uci: "list admin '127.0.0.1 ::1'", export: "admin='127.0.0.1 ::1'; ", valid: true, toml: `admin = ["127.0.0.1", "::1"]`},
	{uci: "list admin '01.2.3.4'", export: "admin=; ", recorded: true, toml: "err", err: "opentracker.main.admin: '01.2.3.4' " + expNet},
	{uci: "list admin '1:2:3:4:5:6:7:8:9'", export: "admin=; ", recorded: true, toml: "err", err: "opentracker.main.admin: '1:2:3:4:5:6:7:8:9' " + expNet},
	{uci: "list admin ':'", export: "admin=; ", recorded: true, toml: "err", err: "opentracker.main.admin: ':' " + expNet},
	{uci: "list admin '12345::1'", export: "admin=; ", recorded: true, toml: "err", err: "opentracker.main.admin: '12345::1' " + expNet},
	{uci: "list admin '1.2.3.4/-1'", export: "admin='1.2.3.4/-1'; ", valid: true, recorded: true, toml: "err", err: "opentracker.main.admin: '1.2.3.4/-1' " + expNet},
	{uci: "list admin '1.2.3.4/'", export: "admin='1.2.3.4/'; ", valid: true, toml: "err", err: "opentracker.main.admin: '1.2.3.4/' " + expNet},
	{uci: "list admin '10.0.0.0/33'", export: "admin=; ", toml: "err", err: "opentracker.main.admin: '10.0.0.0/33' " + expNet},
	{uci: "list admin 'localhost'", export: "admin=; ", toml: "err", err: "opentracker.main.admin: 'localhost' " + expNet},
	{uci: "list admin 'fe80::1%eth0'", export: "admin=; ", toml: "err", err: "opentracker.main.admin: 'fe80::1%eth0' " + expNet},
	{uci: "list admin '::ffff:1.2.3.4/64'", export: "admin='::ffff:1.2.3.4/64'; ", valid: true, toml: "err",
		err: `opentracker.main.admin: "::ffff:1.2.3.4/64" is not an address or network: a v4-mapped network needs at least 96 bits`},
	// The status is the last item's: the bad first one is dropped silently.
	{uci: "list admin '10.0.0.0/33'\n\tlist admin '127.0.0.1'", export: `admin=\ '127.0.0.1'; `, valid: true, toml: "err", err: "opentracker.main.admin: '10.0.0.0/33' " + expNet},
	// directory
	{uci: "option chroot '/tmp'", export: "chroot='/tmp'; ", valid: true, toml: `chroot = "/tmp"`},
	{uci: "option chroot '/nonexistent-opentracker'", export: "unset -v chroot; ", toml: "err", err: "opentracker.main.chroot='/nonexistent-opentracker' is invalid (expected an existing directory)"},
	// string
	{uci: `option redirect 'http://example.org/it'\''s'`, export: `redirect='http://example.org/it'"'"'s'; `, valid: true, toml: `redirect = "http://example.org/it's"`},
	{uci: "option stats_path 'st ats'", export: "stats_path='st ats'; ", valid: true, toml: "err", err: `opentracker.main.stats_path: "st ats" must be a plain path segment`},
	// list(string)
	{uci: "list listen_tcp '127.0.0.1:8080'", export: "listen_tcp='127.0.0.1:8080'; ", valid: true, toml: `tcp = ["127.0.0.1:8080"]`},
	{uci: "list listen_tcp ' '", export: "listen_tcp=; ", toml: "err", err: "opentracker.main.listen_tcp=' ' is invalid (expected list(string))"},
}

// schemaEntries reads OPENTRACKER_SCHEMA from the init script: option name
// to its "option:datatype[:default]" entry.
func schemaEntries(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "init.d", "opentracker"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\nOPENTRACKER_SCHEMA="\n(.*?)"\n`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no OPENTRACKER_SCHEMA in the init script")
	}
	out := map[string]string{}
	for _, e := range strings.Fields(string(m[1])) {
		name, _, _ := strings.Cut(e, ":")
		out[name] = e
	}
	return out
}

func caseOption(c valueCase) string {
	f := strings.Fields(c.uci)
	return f[1]
}

// The validate_data stand-in answers as the real one for every kind of
// value: the same assignments on standard output, the same status.
func TestValidateDataModel(t *testing.T) {
	t.Parallel()
	needTool(t, "busybox", "busybox")
	if len(valueCases) != 68 {
		t.Errorf("%d cases, the recorded table has 68 kinds of value", len(valueCases))
	}
	recorded := 0
	for _, c := range valueCases {
		if c.recorded {
			recorded++
		}
	}
	if recorded != 10 {
		t.Errorf("%d cases marked as recorded differences, want the 10", recorded)
	}
	schema := schemaEntries(t)
	standin := filepath.Join(repoRoot(t), "openwrt", "testdata", "standin")
	for _, c := range valueCases {
		t.Run(c.uci, func(t *testing.T) {
			t.Parallel()
			spec, ok := schema[caseOption(c)]
			if !ok {
				t.Fatalf("no schema entry for %s", caseOption(c))
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "opentracker"), []byte("config opentracker 'main'\n\t"+c.uci+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("busybox", "ash", filepath.Join(standin, "validate_data"), "opentracker", "opentracker", "main", spec)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "STANDIN_DIR=" + standin, "UCI_CONFIG_DIR=" + dir}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, _ := cmd.Output()
			if string(out) != c.export {
				t.Errorf("%s exports %q, the real validate_data %q", spec, out, c.export)
			}
			want := 255
			if c.valid {
				want = 0
			}
			if got := cmd.ProcessState.ExitCode(); got != want {
				t.Errorf("%s exits %d, the real one %d; stderr: %s", spec, got, want, stderr.String())
			}
			if !strings.Contains(stderr.String(), " validates as ") {
				t.Errorf("no report line on stderr: %q", stderr.String())
			}
		})
	}
}

// Every kind of value through init.d/opentracker, with the real daemon's
// check mode: what validate_data accepts as a bool means the same to the
// script; anything the daemon would not take is refused with one message
// naming the option, and without validate_data's report on the terminal.
func TestInitValueTable(t *testing.T) {
	t.Parallel()
	bin := nativeBinary(t)
	for _, c := range valueCases {
		t.Run(c.uci, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t, bin)
			s.uci("config opentracker 'main'\n\tlist listen_udp '127.0.0.1'\n\t" + c.uci + "\n")
			stderr := s.run("start")
			calls := s.calls()
			var errs []string
			for _, l := range calls {
				if m, ok := strings.CutPrefix(l, "logger|-t|opentracker|-p|daemon.err|"); ok {
					errs = append(errs, m)
				}
			}
			dump := strings.Join(calls, "\n") + "\nstderr: " + stderr
			if strings.Contains(stderr, " validates as ") {
				t.Errorf("validate_data's report reached the terminal:\n%s", stderr)
			}
			switch c.toml {
			case "":
				if len(errs) > 0 || hasLine(calls, "open_instance") || s.toml() != "" {
					t.Errorf("want a stopped service, no message:\n%s", dump)
				}
			case "err":
				want := []string{c.err, "errors in /etc/config/opentracker, opentracker not started"}
				if strings.Join(errs, "\n") != strings.Join(want, "\n") {
					t.Errorf("logged:\n%s\nwant:\n%s\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"), dump)
				}
				if !strings.Contains(stderr, "opentracker: "+c.err+"\n") {
					t.Errorf("stderr lacks the message: %s", stderr)
				}
				if hasLine(calls, "open_instance") || s.toml() != "" {
					t.Errorf("started with a bad value:\n%s", dump)
				}
			default:
				if len(errs) > 0 || !hasLine(calls, "open_instance") {
					t.Errorf("not started:\n%s", dump)
				}
				if !strings.Contains(s.toml(), "\n"+c.toml+"\n") {
					t.Errorf("generated TOML lacks %q:\n%s", c.toml, s.toml())
				}
			}
		})
	}
}
