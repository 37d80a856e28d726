//go:build linux

package main

// Real BitTorrent clients on a LAN made of network namespaces: a router
// namespace runs the daemon and holds a bridge; each client namespace is
// joined to the bridge by a veth pair and has its own IPv4 and IPv6
// address (private addresses, inside these namespaces only). A seeder
// announces, the tracker restarts or reloads, and a leecher started
// afterwards must download from that seeder, which by then cannot reach
// the tracker at all: once it has announced, its namespace gets a
// blackhole route to the router's address, so the leecher can only have
// learnt the seeder from the swarm the tracker kept.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/bencode"
)

// lanHost is a client namespace and its addresses.
type lanHost struct {
	ns     string
	v4, v6 netip.Addr
}

// lan is the namespaces of one test: a router and its clients.
type lan struct {
	router string
	v4, v6 netip.Addr // the router's addresses on the bridge
	hosts  []lanHost
}

// newLAN builds the router namespace with a bridge and n client
// namespaces on it. It skips without root or iproute2.
func newLAN(t *testing.T, n int) *lan {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the LAN test needs root (it creates network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the LAN test needs iproute2's ip")
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	addNS := func(name string) {
		exec.Command("ip", "netns", "del", name).Run() // a leftover of a killed run
		ip("netns", "add", name)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
		ip("-n", name, "link", "set", "lo", "up")
	}
	prefix := fmt.Sprintf("otlan%d", os.Getpid())
	l := &lan{router: prefix + "r", v4: netip.MustParseAddr("192.168.77.1"), v6: netip.MustParseAddr("fd77::1")}
	addNS(l.router)
	ip("-n", l.router, "link", "add", "br0", "type", "bridge")
	ip("-n", l.router, "link", "set", "br0", "up")
	ip("-n", l.router, "addr", "add", l.v4.String()+"/24", "dev", "br0")
	ip("-n", l.router, "addr", "add", l.v6.String()+"/64", "dev", "br0", "nodad")
	for i := 0; i < n; i++ {
		h := lanHost{ns: fmt.Sprintf("%sc%d", prefix, i),
			v4: netip.AddrFrom4([4]byte{192, 168, 77, byte(11 + i)}),
			v6: netip.MustParseAddr(fmt.Sprintf("fd77::%x", 0x11+i)),
		}
		addNS(h.ns)
		veth := fmt.Sprintf("vc%d", i)
		ip("-n", l.router, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		ip("-n", l.router, "link", "set", veth, "master", "br0", "up")
		ip("-n", h.ns, "link", "set", "eth0", "up")
		ip("-n", h.ns, "addr", "add", h.v4.String()+"/24", "dev", "eth0")
		ip("-n", h.ns, "addr", "add", h.v6.String()+"/64", "dev", "eth0", "nodad")
		l.hosts = append(l.hosts, h)
	}
	return l
}

// cutOff keeps host h from reaching the router (and so the tracker) while
// it still reaches the other clients on the bridge.
func (l *lan) cutOff(t *testing.T, h lanHost) {
	t.Helper()
	for _, a := range []string{l.v4.String() + "/32", l.v6.String() + "/128"} {
		if out, err := exec.Command("ip", "-n", h.ns, "route", "add", "blackhole", a).CombinedOutput(); err != nil {
			t.Fatalf("ip route add blackhole %s: %v\n%s", a, err, out)
		}
	}
}

// nsProcess is a process in a namespace whose output is kept.
type nsProcess struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	exited chan error
}

func (p *nsProcess) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *nsProcess) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startIn runs argv in namespace ns ("ip netns exec" execs the command, so
// the pid is the command's own) and kills it when the test ends.
func startIn(t *testing.T, name, ns, dir string, argv ...string) *nsProcess {
	t.Helper()
	p := &nsProcess{name: name, exited: make(chan error, 1)}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "HOME="+dir)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.text(), 12000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// routerDaemon is the daemon in the router namespace, with its config file.
type routerDaemon struct {
	*nsProcess
	cfg      string
	tcp, udp map[bool]int // ports by "is IPv6"
}

// startRouterDaemon runs the daemon with config file cfg in the router
// namespace and waits until it has bound and restored its state.
func startRouterDaemon(t *testing.T, l *lan, cfg string) *routerDaemon {
	t.Helper()
	p := startIn(t, "daemon", l.router, filepath.Dir(cfg), daemonBin, "-f", cfg)
	d := &routerDaemon{nsProcess: p, cfg: cfg, tcp: map[bool]int{}, udp: map[bool]int{}}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("daemon exited: %v\n%s", err, p.text())
		default:
		}
		text := p.text()
		if strings.Contains(text, "opentracker: state: ") {
			for _, line := range strings.Split(text, "\n") {
				rest, ok := strings.CutPrefix(line, "opentracker: listening ")
				if !ok {
					continue
				}
				proto, addr, _ := strings.Cut(rest, " ")
				ap := netip.MustParseAddrPort(addr)
				if proto == "tcp" {
					d.tcp[ap.Addr().Is6()] = int(ap.Port())
				} else {
					d.udp[ap.Addr().Is6()] = int(ap.Port())
				}
			}
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", text)
		}
	}
}

// announceURL is the tracker URL on router address a.
func (d *routerDaemon) url(proto string, a netip.Addr) string {
	port := d.tcp[a.Is6()]
	if proto == "udp" {
		port = d.udp[a.Is6()]
	}
	return fmt.Sprintf("%s://%s/announce", proto, netip.AddrPortFrom(a, uint16(port)))
}

// stop sends SIGTERM and waits for the exit.
func (d *routerDaemon) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		d.exited <- err
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, d.text())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit 10 s after SIGTERM\n%s", d.text())
	}
	return time.Since(start)
}

// torrentFile is a single-file private torrent for data, announcing to
// announce; private, so that clients find peers through the tracker only.
func torrentFile(name string, data []byte, pieceLen int, announce string) (file []byte, infoHash [20]byte) {
	var pieces []byte
	for off := 0; off < len(data); off += pieceLen {
		sum := sha1.Sum(data[off:min(off+pieceLen, len(data))])
		pieces = append(pieces, sum[:]...)
	}
	info := bencode.AppendDict(nil)
	info = bencode.AppendKeyInt(info, "length", int64(len(data)))
	info = bencode.AppendKeyString(info, "name", name)
	info = bencode.AppendKeyInt(info, "piece length", int64(pieceLen))
	info = bencode.AppendKeyBytes(info, "pieces", pieces)
	info = bencode.AppendKeyInt(info, "private", 1)
	info = bencode.AppendEnd(info)
	file = bencode.AppendDict(nil)
	file = bencode.AppendKeyString(file, "announce", announce)
	file = bencode.AppendString(file, "info")
	file = append(file, info...)
	file = bencode.AppendEnd(file)
	return file, sha1.Sum(info)
}

// btClient starts one kind of real client, seeding or downloading the
// torrent at torrent into dir, listening on port at the host's address of
// the family asked for.
type btClient struct {
	name  string
	check func() error
	start func(t *testing.T, h lanHost, v6 bool, port int, torrent, dir string) *nsProcess
}

var (
	libtorrentClient = btClient{"libtorrent",
		func() error { return exec.Command("/usr/bin/python3", "-c", "import libtorrent").Run() },
		func(t *testing.T, h lanHost, v6 bool, port int, torrent, dir string) *nsProcess {
			script, _ := filepath.Abs("testdata/lt_client.py")
			listen := netip.AddrPortFrom(h.v4, uint16(port))
			if v6 {
				listen = netip.AddrPortFrom(h.v6, uint16(port))
			}
			return startIn(t, "libtorrent", h.ns, dir, "/usr/bin/python3", script, torrent, dir, listen.String())
		}}
	aria2Client = btClient{"aria2",
		func() error { _, err := exec.LookPath("aria2c"); return err },
		func(t *testing.T, h lanHost, v6 bool, port int, torrent, dir string) *nsProcess {
			return startIn(t, "aria2", h.ns, dir, "aria2c", "--no-conf", "-d", dir, "-V",
				"--seed-ratio=0.0", "--listen-port", fmt.Sprint(port), "--enable-dht=false", "--enable-dht6=false",
				"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
				"--summary-interval=0", "--console-log-level=info", torrent)
		}}
	transmissionClient = btClient{"transmission",
		func() error { _, err := exec.LookPath("transmission-cli"); return err },
		func(t *testing.T, h lanHost, v6 bool, port int, torrent, dir string) *nsProcess {
			conf := filepath.Join(dir, ".transmission")
			os.MkdirAll(conf, 0o755)
			settings := fmt.Sprintf(`{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false,
"port-forwarding-enabled": false, "peer-port": %d, "message-level": 2}`, port)
			if err := os.WriteFile(filepath.Join(conf, "settings.json"), []byte(settings), 0o644); err != nil {
				t.Fatal(err)
			}
			return startIn(t, "transmission", h.ns, dir, "transmission-cli", "-g", conf, "-w", dir, "-p", fmt.Sprint(port), torrent)
		}}
)

// lanCase is one run: a seeder announces over proto and family, the tracker
// restarts or reloads, a leecher downloads.
type lanCase struct {
	name            string
	seeder, leecher btClient
	v6              bool
	proto           string
	event           string // "restart" (SIGTERM and start again) or "reload" (SIGHUP)
}

func TestLANClientsKeepTheSwarm(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	cases := []lanCase{
		{"restart/libtorrent-to-aria2/v4/http", libtorrentClient, aria2Client, false, "http", "restart"},
		{"restart/aria2-to-libtorrent/v6/http", aria2Client, libtorrentClient, true, "http", "restart"},
		{"reload/transmission-to-libtorrent/v4/udp", transmissionClient, libtorrentClient, false, "udp", "reload"},
		{"restart/transmission-to-aria2/v4/http", transmissionClient, aria2Client, false, "http", "restart"},
		{"restart/libtorrent-to-libtorrent/v6/udp", libtorrentClient, libtorrentClient, true, "udp", "restart"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, cl := range []btClient{c.seeder, c.leecher} {
				if err := cl.check(); err != nil {
					t.Skipf("%s not installed: %v", cl.name, err)
				}
			}
			lanSwarm(t, c)
		})
	}
}

func lanSwarm(t *testing.T, c lanCase) {
	l := newLAN(t, 2)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "opentracker.toml")
	writeConfig := func(interval int) {
		toml := fmt.Sprintf("memory_budget = \"8M\"\n[listen]\ntcp = [\"0.0.0.0:0\", \"[::]:0\"]\nudp = [\"0.0.0.0:0\", \"[::]:0\"]\n"+
			"[announce]\ninterval = %d\n[state]\nfile = %q\n", interval, state)
		if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(1800)
	d := startRouterDaemon(t, l, cfg)

	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	router := l.v4
	if c.v6 {
		router = l.v6
	}
	seedDir, leechDir := filepath.Join(dir, "seed"), filepath.Join(dir, "leech")
	os.MkdirAll(seedDir, 0o777)
	os.MkdirAll(leechDir, 0o777)
	os.WriteFile(filepath.Join(seedDir, "lan.bin"), data, 0o644)
	seedTorrent, hash := torrentFile("lan.bin", data, 256<<10, d.url(c.proto, router))
	os.WriteFile(filepath.Join(dir, "seed.torrent"), seedTorrent, 0o644)
	seeder := c.seeder.start(t, l.hosts[0], c.v6, 51001, filepath.Join(dir, "seed.torrent"), seedDir)

	// The seeder's announce reached the tracker: it is in the swarm.
	var lastScrape []byte
	scrape := func(d *routerDaemon) (complete int64) {
		tcp := netip.AddrPortFrom(l.v4, uint16(d.tcp[false]))
		// QueryEscape writes a 0x20 byte as '+', which a tracker reads as
		// '+' (opentracker does too): %20 it is.
		escaped := strings.ReplaceAll(url.QueryEscape(string(hash[:])), "+", "%20")
		_, body := getIn(t, l.router, tcp, "/scrape?info_hash="+escaped)
		lastScrape = body
		files, _ := decode(t, body)["files"].(map[string]any)
		f, _ := files[string(hash[:])].(map[string]any)
		complete, _ = f["complete"].(int64)
		return complete
	}
	for deadline := time.Now().Add(30 * time.Second); scrape(d) != 1; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the %s seeder never announced (last scrape %q)", c.seeder.name, lastScrape)
		}
	}
	l.cutOff(t, l.hosts[0])

	switch c.event {
	case "restart":
		took := d.stop(t)
		t.Logf("SIGTERM to exit: %v", took)
		d = startRouterDaemon(t, l, cfg)
		if !strings.Contains(d.text(), "and 1 peers from") {
			t.Fatalf("the restarted daemon did not restore the seeder:\n%s", d.text())
		}
	case "reload":
		writeConfig(1234)
		d.cmd.Process.Signal(syscall.SIGHUP)
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(d.text(), "SIGHUP: announce.interval = 1234 (was 1800)"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("SIGHUP did not apply the new interval:\n%s", d.text())
			}
		}
	}
	if n := scrape(d); n != 1 {
		t.Fatalf("after the %s the tracker lists %d seeders", c.event, n)
	}

	leechTorrent, _ := torrentFile("lan.bin", data, 256<<10, d.url(c.proto, router))
	os.WriteFile(filepath.Join(dir, "leech.torrent"), leechTorrent, 0o644)
	start := time.Now()
	c.leecher.start(t, l.hosts[1], c.v6, 51002, filepath.Join(dir, "leech.torrent"), leechDir)
	got := filepath.Join(leechDir, "lan.bin")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if b, err := os.ReadFile(got); err == nil && bytes.Equal(b, data) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s leecher did not download from the %s seeder in 60 s", c.leecher.name, c.seeder.name)
		}
	}
	t.Logf("%s downloaded %d bytes from %s in %v after the %s", c.leecher.name, len(data), c.seeder.name, time.Since(start).Round(time.Millisecond), c.event)
	_ = seeder
}
