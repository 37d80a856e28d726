package main

// The JSON and Prometheus statistics and the landing page, from the real
// daemon.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// udpAnnounce connects and announces one peer (port) of hash over UDP.
func udpAnnounce(t *testing.T, addr netip.AddrPort, hash byte, port uint16, left uint64) {
	t.Helper()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	id := udpConnect(t, c, buf)
	req := binary.BigEndian.AppendUint64(nil, id)
	req = binary.BigEndian.AppendUint32(req, 1)
	req = binary.BigEndian.AppendUint32(req, 5)
	req = append(req, bytes.Repeat([]byte{hash}, 20)...)
	req = append(req, bytes.Repeat([]byte{1}, 20)...)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint64(req, left)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint32(req, 0)
	req = binary.BigEndian.AppendUint32(req, 0)
	req = binary.BigEndian.AppendUint32(req, 0)
	req = binary.BigEndian.AppendUint32(req, 50)
	req = binary.BigEndian.AppendUint16(req, port)
	c.Write(req)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(buf); err != nil || n < 20 {
		t.Fatalf("udp announce: %x %v", buf[:n], err)
	}
}

// statsJSON fetches and decodes /stats?mode=json.
func statsJSON(t *testing.T, addr netip.AddrPort) map[string]any {
	t.Helper()
	code, body := get(t, addr, "/stats?mode=json")
	if code != 200 {
		t.Fatalf("mode=json: %d %s", code, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("mode=json is not JSON: %v\n%s", err, body)
	}
	return m
}

// at walks a decoded JSON object along a dotted path.
func at(t *testing.T, m map[string]any, path string) any {
	t.Helper()
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %v is not an object", path, v)
		}
		if v, ok = o[k]; !ok {
			t.Fatalf("%s: no key %q in %v", path, k, o)
		}
	}
	return v
}

func TestDaemonStatsJSON(t *testing.T) {
	list := filepath.Join(t.TempDir(), "whitelist")
	allowed := strings.Repeat("61", 20) // "aaaa..."
	os.WriteFile(list, []byte(allowed+"\n"+strings.Repeat("63", 20)+"\n"), 0o644)
	before := time.Now().Unix()
	d := startDaemon(t, "", "-w", list)
	v4, v6 := d.tcp[0], d.tcp[1]
	get(t, v4, announceURL(strings.Repeat("a", 20), 1001, 0, ""))  // ok, seeder
	get(t, v6, announceURL(strings.Repeat("a", 20), 1002, 10, "")) // ok, leecher
	get(t, v4, announceURL(strings.Repeat("b", 20), 1003, 0, ""))  // not listed
	get(t, v4, "/announce?info_hash=short&port=1")                 // bad input
	udpAnnounce(t, d.udp[0], 'a', 1004, 5)
	udpAnnounce(t, d.udp[1], 'b', 1005, 5) // not listed

	m := statsJSON(t, v4)
	want := map[string]float64{
		"torrents": 1, "peers.total": 3, "peers.ipv4": 2, "peers.ipv6": 1,
		"peers.seeders": 1, "peers.leechers": 2,
		"announces.http.ipv4.ok": 1, "announces.http.ipv6.ok": 1,
		"announces.http.ipv4.not_authorized": 1, "announces.http.ipv4.bad_input": 1,
		"announces.udp.ipv4.ok": 1, "announces.udp.ipv6.not_authorized": 1,
		"announces.udp.ipv4.full": 0, "refused.not_authorized": 2,
		"refused.bad_input.http_announces": 1, "access.entries": 2,
		"memory.budget_bytes": 8 << 20, "memory.torrent_capacity": 16384,
	}
	for k, w := range want {
		if got := at(t, m, k); got != w {
			t.Errorf("%s = %v, want %v", k, got, w)
		}
	}
	if at(t, m, "access.mode") != "whitelist" || at(t, m, "livesync.enabled") != false {
		t.Errorf("access %v, livesync %v", at(t, m, "access"), at(t, m, "livesync"))
	}
	if r := at(t, m, "access.last_reload").(float64); r < float64(before) || r > float64(time.Now().Unix()) {
		t.Errorf("access.last_reload %v, daemon started at %d", r, before)
	}
	if u := at(t, m, "memory.peer_arena_used_bytes").(float64); u <= 0 || u > at(t, m, "memory.peer_arena_bytes").(float64) {
		t.Errorf("arena used %v of %v", u, at(t, m, "memory.peer_arena_bytes"))
	}

	os.WriteFile(list, []byte("nonsense\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, list+":1:")
	if m := statsJSON(t, v4); at(t, m, "access.reload_failures") != 1.0 || at(t, m, "access.entries") != 2.0 {
		t.Errorf("after a failed reload: %v", at(t, m, "access"))
	}
}

func TestDaemonStatsAdminOnly(t *testing.T) {
	d := startDaemon(t, "[access]\nadmin = [\"127.0.0.1\"]\n")
	v4, v6 := d.tcp[0], d.tcp[1]
	for _, target := range []string{"/stats?mode=json", "/stats?mode=prom", "/metrics"} {
		if code, _ := get(t, v4, target); code != 200 {
			t.Errorf("%s from an admin address: %d", target, code)
		}
		if code, body := get(t, v6, target); code != 403 {
			t.Errorf("%s from ::1, not an admin address: %d %s", target, code, body)
		}
	}
	_, own := get(t, v4, "/")
	_, other := get(t, v6, "/")
	if !bytes.Contains(own, []byte(`href="/metrics"`)) || bytes.Contains(other, []byte("/metrics")) {
		t.Errorf("landing page: statistics links for admin networks only:\nadmin: %s\nother: %s", own, other)
	}
}

func TestDaemonLandingPage(t *testing.T) {
	d := startDaemon(t, "")
	code, body := get(t, d.tcp[0], "/") // Host: tracker
	page := string(body)
	for _, want := range []string{
		"<li>HTTP: <code id=\"http\">http://tracker/announce</code>",
		fmt.Sprintf("udp://tracker:%d/announce", d.udp[0].Port()),
		fmt.Sprintf("udp://tracker:%d/announce", d.udp[1].Port()),
	} {
		if code != 200 || !strings.Contains(page, want) {
			t.Errorf("landing page (%d) lacks %q:\n%s", code, want, page)
		}
	}
	// A Host header is never copied into the page unless it is a host name.
	c, err := net.DialTimeout("tcp", d.tcp[0].String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: <script>x</script>\r\n\r\n")
	var all bytes.Buffer
	all.ReadFrom(c)
	c.Close()
	if bytes.Contains(all.Bytes(), []byte("<script>")) || !bytes.Contains(all.Bytes(), []byte("http://HOST/announce")) {
		t.Errorf("hostile Host header:\n%s", all.Bytes())
	}
	// With a redirect set, "/" redirects as before.
	r := startDaemon(t, "[http]\nredirect = \"https://example.org/\"\n")
	if code, _ := get(t, r.tcp[0], "/"); code != 302 {
		t.Errorf("with a redirect: %d", code)
	}
}

// promSamples parses a Prometheus text page into sample -> value.
func promSamples(t *testing.T, page []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(page)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestDaemonPrometheus checks the page with Debian's promtool and that
// every counter only grows between two scrapes under HTTP and UDP load.
func TestDaemonPrometheus(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	d := startDaemon(t, "")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	loadErr := make(chan error, 4)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) { // bounded: at most 3000 requests or until stopped
			defer wg.Done()
			for n := 0; n < 3000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				hash := strings.Repeat(string(rune('a'+n%20)), 20)
				c, err := net.DialTimeout("tcp", d.tcp[i].String(), 2*time.Second)
				if err != nil {
					loadErr <- err
					return
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "GET %s HTTP/1.0\r\n\r\n", announceURL(hash, 1+n%500, n%2, ""))
				var b bytes.Buffer
				b.ReadFrom(c)
				c.Close()
				if n%7 == 0 {
					udpAnnounceQuiet(d.udp[i], byte(n), uint16(2000+n%300))
				}
			}
		}(i)
	}
	defer func() { close(stop); wg.Wait() }()

	scrape := func(target string) []byte {
		code, body := get(t, d.tcp[0], target)
		if code != 200 {
			t.Fatalf("%s: %d %s", target, code, body)
		}
		return body
	}
	time.Sleep(300 * time.Millisecond)
	first := scrape("/metrics")
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(first)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\npage:\n%s", err, out, first)
	}
	time.Sleep(500 * time.Millisecond)
	second := scrape("/stats?mode=prom")
	a, b := promSamples(t, first), promSamples(t, second)
	grew := 0
	for name, v := range a {
		base := name
		if i := strings.IndexByte(name, '{'); i >= 0 {
			base = name[:i]
		}
		if !strings.HasSuffix(base, "_total") {
			continue
		}
		w, ok := b[name]
		if !ok || w < v {
			t.Errorf("counter %s went from %v to %v", name, v, w)
		}
		if w > v {
			grew++
		}
	}
	for _, name := range []string{
		`opentracker_announces_total{proto="http",family="ipv4",result="ok"}`,
		`opentracker_announces_total{proto="http",family="ipv6",result="ok"}`,
		`opentracker_http_connections_total`,
	} {
		if b[name] <= a[name] {
			t.Errorf("%s did not grow under load: %v -> %v", name, a[name], b[name])
		}
	}
	if b[`opentracker_peers{family="ipv4"}`] == 0 || b[`opentracker_peers{family="ipv6"}`] == 0 {
		t.Errorf("peers gauges: %v %v", b[`opentracker_peers{family="ipv4"}`], b[`opentracker_peers{family="ipv6"}`])
	}
	select {
	case err := <-loadErr:
		t.Fatalf("load: %v", err)
	default:
	}
	t.Logf("%d counters grew between the scrapes", grew)
}

// udpAnnounceQuiet is udpAnnounce for load goroutines: errors are ignored.
func udpAnnounceQuiet(addr netip.AddrPort, hash byte, port uint16) {
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	c.Write(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 0x41727101980), 99))
	if n, err := c.Read(buf); err != nil || n != 16 {
		return
	}
	req := binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(buf[8:]))
	req = binary.BigEndian.AppendUint32(req, 1)
	req = binary.BigEndian.AppendUint32(req, 5)
	req = append(req, bytes.Repeat([]byte{hash}, 20)...)
	req = append(req, make([]byte, 20+8*3+4*4)...)
	req = binary.BigEndian.AppendUint16(req, port)
	c.Write(req)
	c.Read(buf)
}
