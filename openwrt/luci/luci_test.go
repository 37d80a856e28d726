package luci

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	viewDir = "htdocs/luci-static/resources/view"
	menu    = "root/usr/share/luci/menu.d/luci-app-opentracker.json"
	acl     = "root/usr/share/rpcd/acl.d/luci-app-opentracker.json"
	plugin  = "root/usr/libexec/rpcd/opentracker"
	// The stand-in of OpenWrt's /lib/functions.sh the init script tests use.
	functions = "../testdata/standin/functions.sh"
)

var daemonBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "luci-test")
	if err != nil {
		panic(err)
	}
	daemonBin = filepath.Join(dir, "opentracker")
	build := exec.Command("go", "build", "-o", daemonBin, "../../cmd/opentracker")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the daemon:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// declaredUbus lists the "object.method" pairs the views declare with
// rpc.declare.
func declaredUbus(t *testing.T) []string {
	var out []string
	re := regexp.MustCompile(`rpc\.declare\(\{\s*object:\s*'([^']+)',\s*method:\s*'([^']+)'`)
	files, _ := filepath.Glob(filepath.Join(viewDir, "opentracker", "*.js"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1]+"."+m[2])
		}
	}
	if len(out) == 0 {
		t.Fatal("no rpc.declare found in the views")
	}
	return out
}

// TestMenuAndACLShape checks the menu and ACL files against the shapes
// LuCI's menu loader and rpcd read: menu nodes under admin/services with a
// title and an action (view paths naming existing view files), depending
// on the app's ACL and its UCI file; the ACL granting every ubus method the
// views declare, and read and write of the UCI file.
func TestMenuAndACLShape(t *testing.T) {
	var m map[string]struct {
		Title  string `json:"title"`
		Order  int    `json:"order"`
		Action struct {
			Type string `json:"type"`
			Path string `json:"path"`
		} `json:"action"`
		Depends *struct {
			ACL []string        `json:"acl"`
			UCI map[string]bool `json:"uci"`
		} `json:"depends"`
	}
	readJSON(t, menu, &m)
	var a map[string]struct {
		Description string `json:"description"`
		Read        struct {
			Ubus map[string][]string `json:"ubus"`
			UCI  []string            `json:"uci"`
		} `json:"read"`
		Write struct {
			UCI []string `json:"uci"`
		} `json:"write"`
	}
	readJSON(t, acl, &a)
	grant, ok := a["luci-app-opentracker"]
	if !ok || grant.Description == "" {
		t.Fatalf("acl.d: no described luci-app-opentracker grant: %+v", a)
	}
	top, ok := m["admin/services/opentracker"]
	if !ok || top.Title == "" || top.Depends == nil || !top.Depends.UCI["opentracker"] {
		t.Fatalf("menu: admin/services/opentracker missing, untitled or not depending on uci opentracker: %+v", top)
	}
	for _, name := range top.Depends.ACL {
		if _, ok := a[name]; !ok {
			t.Errorf("menu depends on ACL %q, which acl.d does not define", name)
		}
	}
	views := 0
	for path, node := range m {
		if !strings.HasPrefix(path, "admin/services/opentracker") || node.Title == "" {
			t.Errorf("menu node %q: outside admin/services/opentracker or untitled", path)
		}
		switch node.Action.Type {
		case "view":
			views++
			if _, err := os.Stat(filepath.Join(viewDir, node.Action.Path+".js")); err != nil {
				t.Errorf("menu node %q: view %q has no file: %v", path, node.Action.Path, err)
			}
		case "firstchild", "alias":
		default:
			t.Errorf("menu node %q: action type %q", path, node.Action.Type)
		}
	}
	if views != 2 {
		t.Errorf("menu: %d views, want status and settings", views)
	}
	for _, om := range declaredUbus(t) {
		obj, method, _ := strings.Cut(om, ".")
		if !contains(grant.Read.Ubus[obj], method) {
			t.Errorf("acl.d: the views call ubus %s, which is not granted", om)
		}
	}
	if !contains(grant.Read.UCI, "opentracker") || !contains(grant.Write.UCI, "opentracker") {
		t.Errorf("acl.d: uci opentracker must be readable and writable: %+v", grant)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestViewsParse runs node --check on every view.
func TestViewsParse(t *testing.T) {
	node := need(t, "node", "nodejs")
	files, _ := filepath.Glob(filepath.Join(viewDir, "opentracker", "*.js"))
	files = append(files, "test/harness/luci.js")
	for _, f := range files {
		if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", f, err, out)
		}
	}
}

func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (apt-get install %s)", tool, pkg)
	}
	return p
}

// daemon is a running opentracker on loopback.
type daemon struct {
	cmd      *exec.Cmd
	tcp, udp []netip.AddrPort
}

func startDaemon(t *testing.T, toml string) *daemon {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ot.toml")
	toml = "memory_budget = \"1M\"\n[listen]\ntcp = [\"127.0.0.1:0\", \"[::1]:0\"]\nudp = [\"127.0.0.1:0\"]\n" + toml
	os.WriteFile(cfg, []byte(toml), 0o644)
	d := &daemon{cmd: exec.Command(daemonBin, "-f", cfg)}
	out, _ := d.cmd.StdoutPipe()
	d.cmd.Stderr = d.cmd.Stdout
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.cmd.Process.Kill(); d.cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "opentracker: listening "); ok {
				proto, addr, _ := strings.Cut(rest, " ")
				if proto == "tcp" {
					d.tcp = append(d.tcp, netip.MustParseAddrPort(addr))
				} else {
					d.udp = append(d.udp, netip.MustParseAddrPort(addr))
					close(ready)
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not bind")
	}
	return d
}

// announce sends one HTTP announce and reads the reply.
func announce(t testing.TB, addr netip.AddrPort, hash string, port int, left int) {
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /announce?info_hash=%s&port=%d&left=%d HTTP/1.0\r\n\r\n", url.QueryEscape(hash), port, left)
	buf := make([]byte, 4096)
	if n, _ := c.Read(buf); !strings.Contains(string(buf[:n]), "interval") {
		t.Errorf("announce: %q", buf[:n])
	}
}

func announceQuiet(addr netip.AddrPort, hash string, port int, left int) {
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /announce?info_hash=%s&port=%d&left=%d HTTP/1.0\r\n\r\n", url.QueryEscape(hash), port, left)
	c.Read(make([]byte, 4096))
}

// writeUCI writes a UCI file "opentracker" into a new directory.
func writeUCI(t *testing.T, body string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "opentracker"), []byte("config opentracker 'main'\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runPlugin runs the rpcd plugin under busybox sh as rpcd would, with the
// stand-ins for functions.sh and uclient-fetch, and decodes its JSON.
func runPlugin(t *testing.T, busybox, uciDir string, args ...string) map[string]any {
	t.Helper()
	fn, _ := filepath.Abs(functions)
	fetch, _ := filepath.Abs("test/standin/uclient-fetch")
	cmd := exec.Command(busybox, append([]string{"sh", plugin}, args...)...)
	cmd.Env = append(os.Environ(), "UCI_CONFIG_DIR="+uciDir, "OPENTRACKER_FUNCTIONS="+fn,
		"OPENTRACKER_FETCH="+fetch, "BUSYBOX="+busybox)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("plugin %v: %v\n%s", args, err, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("plugin %v: output is not a JSON object: %v\n%s", args, err, out)
	}
	return m
}

func TestRPCDPlugin(t *testing.T) {
	busybox := need(t, "busybox", "busybox")
	if m := runPlugin(t, busybox, t.TempDir(), "list"); fmt.Sprint(m) != "map[stats:map[]]" {
		t.Errorf("list: %v", m)
	}
	d := startDaemon(t, "[http]\nstats_path = \"private\"\n")
	announce(t, d.tcp[0], strings.Repeat("a", 20), 1001, 0)
	announce(t, d.tcp[1], strings.Repeat("a", 20), 1002, 5)
	path := "\toption stats_path 'private'\n"
	for name, uci := range map[string]string{
		"0.0.0.0 with port":   fmt.Sprintf("\toption port '%d'\n\tlist listen_tcp '0.0.0.0'\n", d.tcp[0].Port()),
		":: with port":        fmt.Sprintf("\toption port '%d'\n\tlist listen_tcp '::'\n", d.tcp[1].Port()),
		"entry with own port": fmt.Sprintf("\toption port '1'\n\tlist listen_tcp '[::1]:%d'\n", d.tcp[1].Port()),
		"first entry refused": fmt.Sprintf("\tlist listen_tcp '127.0.0.2:1'\n\tlist listen_tcp '127.0.0.1:%d'\n", d.tcp[0].Port()),
	} {
		m := runPlugin(t, busybox, writeUCI(t, uci+path), "call", "stats")
		peers, _ := m["peers"].(map[string]any)
		if peers["ipv4"] != 1.0 || peers["ipv6"] != 1.0 || m["torrents"] != 1.0 {
			t.Errorf("%s: call stats: %v", name, m)
		}
	}
	for name, uci := range map[string]string{
		"wrong stats path": fmt.Sprintf("\tlist listen_tcp '127.0.0.1:%d'\n", d.tcp[0].Port()),
		"no HTTP":          path,
		"nothing there":    "\tlist listen_tcp '127.0.0.2:1'\n" + path,
	} {
		m := runPlugin(t, busybox, writeUCI(t, uci), "call", "stats")
		if e, _ := m["error"].(string); e == "" || len(m) != 1 {
			t.Errorf("%s: want an error object, got %v", name, m)
		}
	}
	if m := runPlugin(t, busybox, t.TempDir(), "call", "nonsense"); m["error"] == nil {
		t.Errorf("unknown method: %v", m)
	}
}

// schema reads the init script's OPENTRACKER_SCHEMA: option -> [type, default].
func schema(t *testing.T) map[string][2]string {
	b, err := os.ReadFile("../../init.d/opentracker")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "OPENTRACKER_SCHEMA=\"\n")
	body, _, _ := strings.Cut(rest, "\"\n")
	out := map[string][2]string{}
	for _, line := range strings.Fields(body) {
		name, spec, _ := strings.Cut(line, ":")
		typ, def := spec, ""
		if i := strings.LastIndex(spec, ":"); i >= 0 && !strings.Contains(spec[i:], ")") {
			typ, def = spec[:i], spec[i+1:]
		}
		out[name] = [2]string{typ, def}
	}
	if len(out) < 20 {
		t.Fatalf("read only %d options from the init script", len(out))
	}
	return out
}

type viewOption struct {
	Name, Tab, Widget, Datatype, Def, Title, Help string
	List                                          bool
	Values                                        []string
}

// checkOptions compares the settings view's options with the init
// script's schema: the same names, a widget fitting each type, LuCI
// datatypes equal to validate_data's, and the same defaults.
func checkOptions(t *testing.T, opts []viewOption) {
	want := schema(t)
	seen := map[string]bool{}
	for _, o := range opts {
		seen[o.Name] = true
		s, ok := want[o.Name]
		if !ok {
			t.Errorf("settings view has %q, which the init script does not read", o.Name)
			continue
		}
		typ, def := s[0], s[1]
		inner, isList := strings.CutPrefix(typ, "list(")
		inner = strings.TrimSuffix(inner, ")")
		switch {
		case typ == "bool":
			if o.Widget != "checkbox" {
				t.Errorf("%s: bool as %s", o.Name, o.Widget)
			}
		case strings.HasPrefix(typ, "or('"):
			if o.Widget != "select-one" || "or('"+strings.Join(o.Values, "','")+"')" != typ {
				t.Errorf("%s: %s as %s with %v", o.Name, typ, o.Widget, o.Values)
			}
		case isList:
			if !o.List || (inner != "string" && o.Datatype != inner) {
				t.Errorf("%s: %s as list %v datatype %q", o.Name, typ, o.List, o.Datatype)
			}
		case typ == "port" || typ == "uinteger":
			if o.Datatype != typ {
				t.Errorf("%s: %s with datatype %q", o.Name, typ, o.Datatype)
			}
		}
		if o.Def != def {
			t.Errorf("%s: default %q in the view, %q in the init script", o.Name, o.Def, def)
		}
		if o.Title == "" || o.Help == "" {
			t.Errorf("%s: no title or help text", o.Name)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("init script option %q has no field in the settings view", name)
		}
	}
}

// TestViewsInChromium drives the status and settings views through the
// LuCI stand-in (test/harness/luci.js) and the daemon's landing page in
// headless Chromium, against a running daemon, through the real rpcd
// plugin; it writes the screenshots to docs/ when LUCI_SCREENSHOTS=1.
func TestViewsInChromium(t *testing.T) {
	node := need(t, "node", "nodejs")
	busybox := need(t, "busybox", "busybox")
	chromium := need(t, "chromium-headless-shell", "chromium-headless-shell")
	if _, err := os.Stat("test/node_modules/puppeteer-core"); err != nil {
		t.Skip("puppeteer-core not installed: npm ci --prefix openwrt/luci/test")
	}
	d := startDaemon(t, "")
	// 40 torrents with 1 to 40 peers (820), a third of them seeders.
	peers := 0
	for i := 0; i < 40; i++ {
		for j := 0; j <= i; j++ {
			hash := fmt.Sprintf("%020d", i)
			announce(t, d.tcp[j%2], hash, 2000+j, j%3)
			peers++
		}
	}
	uci, err := os.ReadFile("../files/opentracker.config")
	if err != nil {
		t.Fatal(err)
	}
	// The shipped file, with the daemon's port on loopback.
	text := strings.Replace(string(uci), "option port '6969'", fmt.Sprintf("option port '%d'", d.tcp[0].Port()), 1)
	uciDir := t.TempDir()
	os.WriteFile(filepath.Join(uciDir, "opentracker"), []byte(text), 0o644)
	shots := ""
	if os.Getenv("LUCI_SCREENSHOTS") == "1" {
		shots, _ = filepath.Abs("../../docs")
	}
	fn, _ := filepath.Abs(functions)
	fetch, _ := filepath.Abs("test/standin/uclient-fetch")
	pluginPath, _ := filepath.Abs(plugin)
	cmd := exec.Command(node, "test/run.mjs")
	cmd.Env = append(os.Environ(), "OT_HTTP="+d.tcp[0].String(), fmt.Sprintf("OT_PID=%d", d.cmd.Process.Pid),
		"OT_UCI_DIR="+uciDir, "OT_PLUGIN="+pluginPath, "OT_SHOTS="+shots, "CHROMIUM="+chromium,
		"BUSYBOX="+busybox, "UCI_CONFIG_DIR="+uciDir, "OPENTRACKER_FUNCTIONS="+fn, "OPENTRACKER_FETCH="+fetch,
		fmt.Sprintf("OT_EXPECT_PEERS=%d", peers), "OT_EXPECT_TORRENTS=40")
	// Announces go on while the status page is open (bounded: 600 at most,
	// every 20 to 137 ms), so its rate must rise above zero.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 600; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(20+i%40*3) * time.Millisecond): // a varying rate
			}
			// A known peer, so the counts stay; the daemon is stopped at
			// the end, so errors are not failures here.
			announceQuiet(d.tcp[0], fmt.Sprintf("%020d", 0), 2000, 0)
		}
	}()
	out, err := cmd.Output()
	close(stop)
	wg.Wait()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("test/run.mjs: %v\n%s%s", err, stderr, out)
	}
	var res struct {
		Checks  []string
		Options []viewOption
		Ubus    []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("run.mjs output: %v\n%s", err, out)
	}
	t.Logf("%d checks in Chromium passed; ubus calls: %v", len(res.Checks), res.Ubus)
	checkOptions(t, res.Options)
}

// TestShellcheck checks the rpcd plugin, the packer and the uclient-fetch
// stand-in as POSIX sh (shellcheck 0.9 has no busybox dialect; "local" is
// allowed by a directive in each file).
func TestShellcheck(t *testing.T) {
	sc := need(t, "shellcheck", "shellcheck")
	if b, err := exec.Command(sc, "-s", "sh", plugin, "ipk.sh", "test/standin/uclient-fetch").CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, b)
	}
}
