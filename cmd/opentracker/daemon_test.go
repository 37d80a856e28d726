package main

// End-to-end tests: the real daemon binary, started on loopback with
// ephemeral ports, spoken to over HTTP and UDP.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
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

var daemonBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ot-e2e")
	if err != nil {
		panic(err)
	}
	daemonBin = filepath.Join(dir, "opentracker")
	build := exec.Command("go", "build", "-o", daemonBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the daemon:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// get sends one HTTP request over a fresh connection and returns the
// status code and body.
func get(t *testing.T, addr netip.AddrPort, target string) (int, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return exchange(t, c, target)
}

// exchange sends one request on c, reads the reply to EOF and closes c.
func exchange(t *testing.T, c net.Conn, target string) (int, []byte) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: tracker\r\nConnection: close\r\n\r\n", target)
	return readReply(t, c)
}

// readReply reads a reply to EOF and returns its status code and body.
func readReply(t *testing.T, c net.Conn) (int, []byte) {
	t.Helper()
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no HTTP header in %q", raw)
	}
	var code int
	fmt.Sscanf(string(head), "HTTP/1.1 %d", &code)
	return code, body
}

func announceURL(hash string, port int, left int, extra string) string {
	return "/announce?info_hash=" + url.QueryEscape(hash) + "&peer_id=-GO0001-000000000000&port=" +
		fmt.Sprint(port) + "&uploaded=0&downloaded=0&left=" + fmt.Sprint(left) + "&compact=1" + extra
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d, err := bencode.DecodeDict(body)
	if err != nil {
		t.Fatalf("reply %q: %v", body, err)
	}
	return d
}

func TestDaemonServesHTTPOnBothFamilies(t *testing.T) {
	d := startDaemon(t, "")
	hash := "aaaaaaaaaaaaaaaaaaaa"
	for _, addr := range d.tcp {
		code, body := get(t, addr, announceURL(hash, 1000+int(addr.Port()%1000), 0, "&event=started"))
		if code != 200 {
			t.Fatalf("announce over %v: %d %q", addr, code, body)
		}
	}
	// A leecher over IPv4 sees the v4 seeder in peers and the v6 one in peers6.
	code, body := get(t, d.tcp[0], announceURL(hash, 7000, 100, ""))
	r := decode(t, body)
	if code != 200 || r["complete"] != int64(2) || r["incomplete"] != int64(1) {
		t.Fatalf("leecher reply %d %v", code, r)
	}
	if p, _ := r["peers"].(string); len(p) != 6 || !strings.HasPrefix(p, "\x7f\x00\x00\x01") {
		t.Fatalf("peers %q, want the v4 seeder", p)
	}
	if p, _ := r["peers6"].(string); len(p) != 18 || p[15] != 1 {
		t.Fatalf("peers6 %q, want the v6 seeder", p)
	}
	code, body = get(t, d.tcp[0], "/scrape?info_hash="+url.QueryEscape(hash))
	files, _ := decode(t, body)["files"].(map[string]any)
	if f, _ := files[hash].(map[string]any); code != 200 || f["complete"] != int64(2) || f["incomplete"] != int64(1) {
		t.Fatalf("scrape %d %q", code, body)
	}
}

func TestDaemonServesUDP(t *testing.T) {
	d := startDaemon(t, "")
	c, err := net.Dial("udp", d.udp[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	connect := binary.BigEndian.AppendUint64(nil, 0x41727101980)
	connect = binary.BigEndian.AppendUint32(connect, 0)
	connect = binary.BigEndian.AppendUint32(connect, 7)
	c.Write(connect)
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil || n != 16 || binary.BigEndian.Uint32(buf[4:]) != 7 {
		t.Fatalf("connect reply %x %v", buf[:n], err)
	}
	id := binary.BigEndian.Uint64(buf[8:])
	for i, port := range []uint16{6001, 6002} {
		req := binary.BigEndian.AppendUint64(nil, id)
		req = binary.BigEndian.AppendUint32(req, 1) // announce
		req = binary.BigEndian.AppendUint32(req, uint32(100+i))
		req = append(req, bytes.Repeat([]byte{0xbb}, 20)...) // info_hash
		req = append(req, bytes.Repeat([]byte{byte(i)}, 20)...)
		req = binary.BigEndian.AppendUint64(req, 0)
		req = binary.BigEndian.AppendUint64(req, 10) // left
		req = binary.BigEndian.AppendUint64(req, 0)
		req = binary.BigEndian.AppendUint32(req, 2) // started
		req = binary.BigEndian.AppendUint32(req, 0)
		req = binary.BigEndian.AppendUint32(req, 0)
		req = binary.BigEndian.AppendUint32(req, 0xffffffff) // numwant -1
		req = binary.BigEndian.AppendUint16(req, port)
		c.Write(req)
		n, err = c.Read(buf)
		if err != nil || n < 20 || binary.BigEndian.Uint32(buf) != 1 {
			t.Fatalf("announce reply %x %v", buf[:n], err)
		}
	}
	// the second peer gets the first, and not itself
	if n != 26 || binary.BigEndian.Uint16(buf[24:]) != 6001 || binary.BigEndian.Uint32(buf[12:]) != 2 {
		t.Fatalf("second announce reply %x", buf[:n])
	}
}

func TestDaemonReloadsWhitelistOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "whitelist")
	allowed := strings.Repeat("61", 20) // "aaaa..."
	other := strings.Repeat("62", 20)   // "bbbb..."
	os.WriteFile(list, []byte(allowed+"\n"), 0o644)
	d := startDaemon(t, "", "-w", list)
	if _, body := get(t, d.tcp[0], announceURL(strings.Repeat("a", 20), 1, 0, "")); decode(t, body)["interval"] == nil {
		t.Fatalf("whitelisted torrent refused: %q", body)
	}
	_, body := get(t, d.tcp[0], announceURL(strings.Repeat("b", 20), 1, 0, ""))
	if !strings.Contains(fmt.Sprint(decode(t, body)["failure reason"]), "not authorized") {
		t.Fatalf("unlisted torrent: %q", body)
	}
	os.WriteFile(list, []byte(allowed+"\n"+other+"\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "whitelist reloaded, 2 torrents")
	if _, body := get(t, d.tcp[0], announceURL(strings.Repeat("b", 20), 1, 0, "")); decode(t, body)["interval"] == nil {
		t.Fatalf("after reload: %q", body)
	}
	// a broken file is reported and the old list kept
	os.WriteFile(list, []byte("nonsense\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, list+":1:")
	if _, body := get(t, d.tcp[0], announceURL(strings.Repeat("b", 20), 1, 0, "")); decode(t, body)["interval"] == nil {
		t.Fatalf("after a failed reload: %q", body)
	}
}

func TestDaemonKeepsStateAcrossRestart(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "state")
	toml := fmt.Sprintf("[state]\nfile = %q\n", stateFile)
	d := startDaemon(t, toml)
	hash := strings.Repeat("c", 20)
	get(t, d.tcp[0], announceURL(hash, 1, 0, "&event=completed"))
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if b, _ := os.ReadFile(stateFile); !bytes.HasPrefix(b, []byte("# opentracker-go state 2\n")) || !bytes.Contains(b, []byte(hash)) {
		t.Fatalf("state file %q", b)
	}
	d2 := startDaemon(t, toml)
	d2.waitLog(t, "restored 1 torrents")
	_, body := get(t, d2.tcp[0], "/scrape?info_hash="+hash)
	files, _ := decode(t, body)["files"].(map[string]any)
	if f, _ := files[hash].(map[string]any); f["downloaded"] != int64(1) {
		t.Fatalf("scrape after restart: %q", body)
	}
}

// TestDaemonKeepsAnUnreadableDump: a dump with a bad line is restored
// around it and kept as .bak, since the next save holds only what loaded.
func TestDaemonKeepsAnUnreadableDump(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "state")
	dump := strings.Repeat("63", 20) + fmt.Sprintf(":%d:4\n", time.Now().Unix()/60) + "garbage\n"
	os.WriteFile(stateFile, []byte(dump), 0o600)
	d := startDaemon(t, fmt.Sprintf("[state]\nfile = %q\n", stateFile))
	d.waitLog(t, "restored 1 torrents")
	if !strings.Contains(d.logText(), stateFile+":2:") {
		t.Errorf("bad line not reported:\n%s", d.logText())
	}
	if b, err := os.ReadFile(stateFile + ".bak"); err != nil || string(b) != dump {
		t.Fatalf("backup %q, %v", b, err)
	}
}

func TestCheckMode(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte("memory_budget = \"16M\"\n"), 0o644)
	os.WriteFile(bad, []byte("memory_budget = \"16M\"\n[announce]\nnumwant = -3\n"), 0o644)
	out, err := exec.Command(daemonBin, "-t", "-f", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration "+good+" ok") {
		t.Fatalf("good config: %v %s", err, out)
	}
	out, err = exec.Command(daemonBin, "-t", "-f", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), bad+":3: announce.numwant") {
		t.Fatalf("bad config: %v %s", err, out)
	}
	out, err = exec.Command(daemonBin, "-t", "-p", "99999").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not a port") {
		t.Fatalf("bad switch: %v %s", err, out)
	}
}

func TestDaemonDoesNotLinkNetHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "net/http" || strings.HasPrefix(pkg, "net/http/") || pkg == "crypto/tls" {
			t.Fatalf("the daemon links %s", pkg)
		}
	}
}

// TestDaemonDoesNotLinkTheResolver: binding with IP literals through package
// sock keeps the net package's DNS client out of the binary (about 0.26 MB
// of a mipsle build); any string-addressed net.Listen, Dial or Resolve call
// would bring it back.
func TestDaemonDoesNotLinkTheResolver(t *testing.T) {
	out, err := exec.Command("go", "tool", "nm", daemonBin).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, sym := range []string{"net.(*Resolver).exchange", "net.(*Resolver).goLookupIPCNAMEOrder"} {
		if bytes.Contains(out, []byte(" "+sym+"\n")) {
			t.Errorf("the daemon links %s", sym)
		}
	}
	if !bytes.Contains(out, []byte(" net.(*UDPConn).ReadFromUDPAddrPort\n")) {
		t.Fatal("symbol table without the net package: is the binary stripped?")
	}
}

func TestLibtorrentOverHTTP(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import libtorrent").Run(); err != nil {
		t.Skip("python3-libtorrent is not installed (.ci/run installs it)")
	}
	d := startDaemon(t, "")
	// The script is shared with the UDP package's real-client test.
	script := filepath.Join("..", "..", "tracker", "udp", "testdata", "libtorrent_swarm.py")
	url := "http://" + d.tcp[0].String() + "/announce"
	out, err := exec.Command("/usr/bin/python3", script, url, "40", "127.0.0.1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "DOWNLOADED") {
		t.Fatalf("libtorrent: %v\n%s", err, out)
	}
}

// TestDaemonDefersAccept: the daemon's HTTP listeners take a connection once
// its request has arrived (TCP_DEFER_ACCEPT), and still serve a client that
// connects first and sends later.
func TestDaemonDefersAccept(t *testing.T) {
	d := startDaemon(t, "")
	c, err := net.DialTimeout("tcp", d.tcp[0].String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	// tcp4's first line counts accepted connections, this one included.
	if code, body := get(t, d.tcp[0], "/stats?mode=tcp4"); code != 200 || !bytes.HasPrefix(body, []byte("1\n")) {
		t.Fatalf("stats %d %q: the silent connection was accepted before sending", code, body)
	}
	if code, body := exchange(t, c, announceURL("dddddddddddddddddddd", 1234, 0, "")); code != 200 {
		t.Fatalf("late request: %d %q", code, body)
	}
}

// TestDaemonAccessFIFO: a hash written to access.fifo_add is served at once;
// one written to fifo_delete is refused again.
func TestDaemonAccessFIFO(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "whitelist")
	os.WriteFile(list, []byte(strings.Repeat("61", 20)+"\n"), 0o644)
	add, del := filepath.Join(dir, "add"), filepath.Join(dir, "delete")
	d := startDaemon(t, fmt.Sprintf("[access]\nmode = %q\nlist = %q\nfifo_add = %q\nfifo_delete = %q\n", "whitelist", list, add, del))
	served := func() bool {
		_, body := get(t, d.tcp[0], announceURL(strings.Repeat("c", 20), 1, 0, ""))
		return decode(t, body)["interval"] != nil
	}
	write := func(path, line string) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line + "\n")
		f.Close()
	}
	waitFor := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); served() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("torrent served: %v, want %v", !want, want)
			}
		}
	}
	if served() {
		t.Fatal("unlisted torrent served")
	}
	write(add, strings.Repeat("63", 20)+" added by a script")
	waitFor(true)
	write(del, strings.Repeat("63", 20))
	waitFor(false)
}

// TestLogStreams: routine messages go to stdout and problems to stderr, which
// procd files in the system log as daemon.info and daemon.err.
func TestLogStreams(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "state")
	os.WriteFile(stateFile, []byte("garbage\n"), 0o600)
	cfg := filepath.Join(dir, "ot.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("memory_budget = \"8M\"\n[listen]\ntcp = [\"127.0.0.1:0\"]\nudp = []\n[state]\nfile = %q\n", stateFile)), 0o644)
	cmd := exec.Command(daemonBin, "-f", cfg)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(stdout.String(), "restored 0 torrents"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "listening tcp 127.0.0.1:") || strings.Contains(stdout.String(), stateFile+":1:") {
		t.Errorf("stdout: %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), stateFile+":1:") || strings.Contains(stderr.String(), "listening") {
		t.Errorf("stderr: %q", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
