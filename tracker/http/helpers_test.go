package http

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/bencode"
	"github.com/opentracker-go/opentracker/tracker/config"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/stats"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

type testTracker struct {
	srv   *Server
	store *swarm.Store
	c     *logic.Counters
	addr  string // host:port
	errc  chan error
}

func newStore(t testing.TB, budget int64) *swarm.Store {
	t.Helper()
	st, err := swarm.New(swarm.Config{MemoryBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustNets(t testing.TB, s ...string) logic.Networks {
	t.Helper()
	n, err := logic.ParseNetworks(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startTracker serves a fresh store (unless st is given) on network/laddr.
func startTracker(t testing.TB, cfg Config, st *swarm.Store, acl *access.List, laddr string) *testTracker {
	t.Helper()
	if st == nil {
		st = newStore(t, 4<<20)
	}
	if laddr == "" {
		laddr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", laddr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", laddr, err)
	}
	return serveTracker(t, cfg, st, acl, ln)
}

// serveTracker serves st (with acl) on ln until the test ends.
func serveTracker(t testing.TB, cfg Config, st *swarm.Store, acl *access.List, ln net.Listener) *testTracker {
	t.Helper()
	tt := &testTracker{store: st, c: new(logic.Counters), addr: ln.Addr().String(), errc: make(chan error, 1)}
	if cfg.Stats == nil {
		cfg.Stats = &stats.Pages{Store: st, Counters: tt.c}
	}
	tt.srv = newServer(t, cfg, newTracker(st, acl, tt.c))
	go func() { tt.errc <- tt.srv.Serve(ln) }()
	t.Cleanup(func() {
		tt.srv.Close()
		select {
		case err := <-tt.errc:
			if err != ErrServerClosed {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return tt
}

type response struct {
	status int
	header map[string]string // lower-case names
	body   []byte
	rawLen int // head and body bytes as received
}

// readResponse reads one response framed by Content-Length.
func readResponse(br *bufio.Reader) (*response, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	raw := len(line)
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return nil, fmt.Errorf("bad status line %q", line)
	}
	r := &response{header: map[string]string{}}
	if r.status, err = strconv.Atoi(f[1]); err != nil {
		return nil, err
	}
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		raw += len(h)
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		k, v, _ := strings.Cut(h, ":")
		r.header[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	n, err := strconv.Atoi(r.header["content-length"])
	if err != nil {
		return nil, fmt.Errorf("no content-length: %v", r.header)
	}
	r.body = make([]byte, n)
	r.rawLen = raw + n
	_, err = io.ReadFull(br, r.body)
	return r, err
}

func dial(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// roundTrip sends a raw request on a new connection and reads one reply.
func roundTrip(t testing.TB, addr, raw string) *response {
	t.Helper()
	c, br := dial(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	r, err := readResponse(br)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return r
}

// get fetches target with HTTP/1.0 on a new connection.
func get(t testing.TB, addr, target string) *response {
	t.Helper()
	return roundTrip(t, addr, "GET "+target+" HTTP/1.0\r\nHost: x\r\n\r\n")
}

func esc(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "%%%02X", c)
	}
	return sb.String()
}

func ih(i byte) logic.InfoHash {
	var h logic.InfoHash
	for j := range h {
		h[j] = i ^ byte(j*7)
	}
	return h
}

func announceURL(h logic.InfoHash, port int, extra string) string {
	return fmt.Sprintf("/announce?info_hash=%s&peer_id=-GO0001-%012d&port=%d%s", esc(h[:]), port, port, extra)
}

// decoded announce reply
type annReply struct {
	failure                     string
	complete, incomplete, dl    int64
	interval, minInterval       int64
	peers                       []netip.AddrPort // compact v4 and v6, or dict
	hasPeers, hasPeers6, isDict bool
}

func decodeAnnounce(t testing.TB, body []byte) annReply {
	t.Helper()
	m, err := bencode.DecodeDict(body)
	if err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	var a annReply
	if f, ok := m["failure reason"].(string); ok {
		a.failure = f
		return a
	}
	num := func(k string) int64 {
		v, ok := m[k].(int64)
		if !ok && k != "downloaded" {
			t.Fatalf("reply %q lacks integer %q", body, k)
		}
		return v
	}
	a.complete, a.incomplete, a.dl = num("complete"), num("incomplete"), num("downloaded")
	a.interval, a.minInterval = num("interval"), num("min interval")
	switch p := m["peers"].(type) {
	case string:
		a.hasPeers = true
		a.peers = append(a.peers, compactPeers(t, []byte(p), 6)...)
	case []any:
		a.hasPeers, a.isDict = true, true
		for _, e := range p {
			d := e.(map[string]any)
			ip, err := netip.ParseAddr(d["ip"].(string))
			if err != nil {
				t.Fatal(err)
			}
			a.peers = append(a.peers, netip.AddrPortFrom(ip, uint16(d["port"].(int64))))
		}
	}
	if p, ok := m["peers6"].(string); ok {
		a.hasPeers6 = true
		a.peers = append(a.peers, compactPeers(t, []byte(p), 18)...)
	}
	return a
}

func compactPeers(t testing.TB, b []byte, size int) []netip.AddrPort {
	t.Helper()
	if len(b)%size != 0 {
		t.Fatalf("compact peer string of %d bytes is not a multiple of %d", len(b), size)
	}
	var out []netip.AddrPort
	for ; len(b) > 0; b = b[size:] {
		var a netip.Addr
		if size == 6 {
			a = netip.AddrFrom4([4]byte(b[:4]))
		} else {
			a = netip.AddrFrom16([16]byte(b[:16]))
		}
		out = append(out, netip.AddrPortFrom(a, uint16(b[size-2])<<8|uint16(b[size-1])))
	}
	return out
}

func peerSet(ps []netip.AddrPort) map[netip.AddrPort]bool {
	m := map[netip.AddrPort]bool{}
	for _, p := range ps {
		m[p] = true
	}
	return m
}

func lp(port int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
}

// scrapeFiles decodes a scrape reply into hash -> [complete, downloaded, incomplete].
func scrapeFiles(t testing.TB, body []byte) map[logic.InfoHash][3]int64 {
	t.Helper()
	m, err := bencode.DecodeDict(body)
	if err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	files, ok := m["files"].(map[string]any)
	if !ok {
		t.Fatalf("scrape reply without files: %q", body)
	}
	out := map[logic.InfoHash][3]int64{}
	for k, v := range files {
		d := v.(map[string]any)
		out[logic.InfoHash([]byte(k))] = [3]int64{d["complete"].(int64), d["downloaded"].(int64), d["incomplete"].(int64)}
	}
	return out
}

// roundTripOn sends req on c and returns the raw response bytes.
func roundTripOn(c net.Conn, br *bufio.Reader, req []byte) ([]byte, error) {
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	r, err := readResponse(br)
	if err != nil {
		return nil, err
	}
	return make([]byte, r.rawLen), nil // the caller needs the length only
}

// defaults is the daemon's default configuration (default.toml).
var defaults = func() *config.Config {
	c, err := config.Load("")
	if err != nil {
		panic(err)
	}
	return c
}()

// newTracker is the policy over st with the default interval.
func newTracker(st *swarm.Store, acl *access.List, c *logic.Counters) *logic.Tracker {
	return logic.New(logic.Config{Interval: defaults.Typed.Interval}, st, acl, c)
}

// newServer is NewServer with cfg's zero fields taken from the defaults.
func newServer(t testing.TB, cfg Config, tr *logic.Tracker) *Server {
	t.Helper()
	cfg.NumWant = cmp.Or(cfg.NumWant, defaults.Announce.NumWant)
	cfg.MaxNumWant = cmp.Or(cfg.MaxNumWant, defaults.Announce.MaxNumWant)
	cfg.StatsPath = cmp.Or(cfg.StatsPath, defaults.HTTP.StatsPath)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, defaults.Typed.IdleTimeout)
	s, err := NewServer(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %s", what)
		}
	}
}

// serveResult is what Serve returned on errc, failing the test if it has
// not returned within 5 s.
func serveResult(t testing.TB, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5 s")
		return nil
	}
}
