package http

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

func TestAnnouncePeersAndCounts(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	h := ih(1)
	ann := func(port int, extra string) annReply {
		t.Helper()
		r := get(t, tt.addr, announceURL(h, port, extra))
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		return decodeAnnounce(t, r.body)
	}
	// Leecher A alone: no peers (never itself), "peers" still present.
	a := ann(7001, "&left=100&event=started")
	if a.failure != "" || len(a.peers) != 0 || !a.hasPeers || a.hasPeers6 || a.complete != 0 || a.incomplete != 1 {
		t.Fatalf("first announce: %+v", a)
	}
	if a.interval < 1620 || a.interval > 1979 || a.minInterval != a.interval/2 {
		t.Fatalf("interval %d min %d", a.interval, a.minInterval)
	}
	b := ann(7002, "&left=100")
	if !equalSet(b.peers, lp(7001)) || b.incomplete != 2 {
		t.Fatalf("B: %+v", b)
	}
	// Seeder C gets both leechers.
	c := ann(7003, "&left=0")
	if !equalSet(c.peers, lp(7001), lp(7002)) || c.complete != 1 || c.incomplete != 2 {
		t.Fatalf("C: %+v", c)
	}
	// Seeder D gets only leechers, not seeder C.
	d := ann(7004, "&left=0")
	if !equalSet(d.peers, lp(7001), lp(7002)) || d.complete != 2 {
		t.Fatalf("D: %+v", d)
	}
	// Leecher A sees everyone but itself.
	a = ann(7001, "&left=100")
	if !equalSet(a.peers, lp(7002), lp(7003), lp(7004)) {
		t.Fatalf("A again: %+v", a)
	}
	// numwant limits, numwant=0 gives none.
	if a = ann(7001, "&left=100&numwant=1"); len(a.peers) != 1 {
		t.Fatalf("numwant=1: %+v", a)
	}
	if a = ann(7001, "&left=100&numwant=0"); len(a.peers) != 0 || !a.hasPeers {
		t.Fatalf("numwant=0: %+v", a)
	}
	// B completes: downloaded counts once.
	b = ann(7002, "&left=0&event=completed")
	if b.dl != 1 || b.complete != 3 || b.incomplete != 1 {
		t.Fatalf("B completed: %+v", b)
	}
	if b = ann(7002, "&left=0&event=completed"); b.dl != 1 {
		t.Fatalf("repeated completed counted twice: %+v", b)
	}
	// A stops: gone from counts and lists.
	a = ann(7001, "&left=100&event=stopped")
	if a.failure != "" || a.incomplete != 0 || a.complete != 3 {
		t.Fatalf("A stopped: %+v", a)
	}
	if c = ann(7003, "&left=0"); len(c.peers) != 0 {
		t.Fatalf("seeder C after the only leecher stopped: %+v", c)
	}
	if got := tt.c.HTTPAnnounces.Load(); got != 11 {
		t.Errorf("HTTPAnnounces = %d, want 11", got)
	}
	if got := tt.c.Completed.Load(); got != 1 {
		t.Errorf("Completed = %d, want 1 (the repeat is not a new download)", got)
	}
}

func equalSet(got []netip.AddrPort, want ...netip.AddrPort) bool {
	if len(got) != len(want) {
		return false
	}
	g := peerSet(got)
	for _, w := range want {
		if !g[w] {
			return false
		}
	}
	return len(g) == len(want)
}

func TestAnnounceDictPeers(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	h := ih(2)
	get(t, tt.addr, announceURL(h, 6881, "&left=5"))
	r := get(t, tt.addr, announceURL(h, 6882, "&left=5&compact=0&no_peer_id=1"))
	a := decodeAnnounce(t, r.body)
	if !a.isDict || !equalSet(a.peers, lp(6881)) {
		t.Fatalf("compact=0: %+v (%q)", a, r.body)
	}
	if !strings.Contains(string(r.body), "5:peersld2:ip9:127.0.0.14:porti6881eee") {
		t.Fatalf("dict peers encoding: %q", r.body)
	}
}

func TestAnnounceIPv6(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "[::1]:0")
	h := ih(3)
	get(t, tt.addr, announceURL(h, 6881, "&left=5"))
	r := get(t, tt.addr, announceURL(h, 6882, "&left=5"))
	a := decodeAnnounce(t, r.body)
	want := netip.AddrPortFrom(netip.IPv6Loopback(), 6881)
	if !a.hasPeers || !a.hasPeers6 || !equalSet(a.peers, want) {
		t.Fatalf("v6: %+v (%q)", a, r.body)
	}
	if !strings.Contains(string(r.body), "5:peers0:6:peers618:") {
		t.Fatalf("v6 reply layout: %q", r.body)
	}
	// Dict form writes v6 text addresses.
	r = get(t, tt.addr, announceURL(h, 6883, "&left=5&compact=0"))
	if a = decodeAnnounce(t, r.body); !a.isDict || len(a.peers) != 2 || !strings.Contains(string(r.body), "3:::1") {
		t.Fatalf("v6 dict: %+v %q", a, r.body)
	}
}

func TestAnnounceFailures(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	h4 := ih(4)
	h := esc(h4[:])
	cases := []struct{ query, reason string }{
		{"port=1&left=1", reasonMissingHash},
		{"info_hash=abc&port=1", reasonHashLen},
		{"info_hash=" + h + "&info_hash=" + h + "&port=1", reasonDoubleHash},
		{"info_hash=" + h + "&peer_id=short&port=1", reasonPeerIDLen},
		{"info_hash=" + h, reasonMissingPort},
		{"info_hash=" + h + "&port=0", reasonBadPort},
		{"info_hash=" + h + "&port=70000", reasonBadPort},
		{"info_hash=" + h + "&port=abc", reasonBadPort},
		{"info_hash=" + h + "&port=", reasonBadPort},
		{"info_hash=" + h + "&port=1&left=abc", reasonBadLeft},
		{"info_hash=%zz&port=1", reasonMalformed},
		{"info_hash=" + h + "&port=1&key=%4", reasonMalformed},
	}
	for _, c := range cases {
		r := get(t, tt.addr, "/announce?"+c.query)
		a := decodeAnnounce(t, r.body)
		if r.status != 200 || a.failure != c.reason {
			t.Errorf("%s: status %d failure %q, want %q", c.query, r.status, a.failure, c.reason)
		}
	}
	if got := tt.c.HTTPFailures.Load(); got != uint64(len(cases)) {
		t.Errorf("HTTPFailures = %d, want %d", got, len(cases))
	}
	// Lenient where strictness helps nobody: bad numwant is ignored, unknown
	// event is "none", unknown parameters are skipped, no query is missing hash.
	r := get(t, tt.addr, "/announce?info_hash="+h+"&port=9&numwant=lots&event=bogus&foo=%C3%A9&flag")
	if a := decodeAnnounce(t, r.body); a.failure != "" || a.incomplete != 1 {
		t.Errorf("lenient announce: %+v", a)
	}
	r = get(t, tt.addr, "/announce")
	if a := decodeAnnounce(t, r.body); a.failure != reasonMissingHash {
		t.Errorf("no query: %+v", a)
	}
}

func TestAnnounceNotAuthorized(t *testing.T) {
	allowed := ih(5)
	path := filepath.Join(t.TempDir(), "whitelist")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("%x\n", allowed[:])), 0o644); err != nil {
		t.Fatal(err)
	}
	acl := access.New(access.Whitelist, path)
	if _, err := acl.Reload(); err != nil {
		t.Fatal(err)
	}
	tt := startTracker(t, Config{}, nil, acl, "")
	if a := decodeAnnounce(t, get(t, tt.addr, announceURL(allowed, 1, "")).body); a.failure != "" {
		t.Fatalf("whitelisted: %+v", a)
	}
	a := decodeAnnounce(t, get(t, tt.addr, announceURL(ih(6), 1, "")).body)
	if a.failure != logic.ErrNotAuthorized.Error() || tt.c.NotAuthorized.Load() != 1 {
		t.Fatalf("not whitelisted: %+v", a)
	}
}

func TestAnnounceTrackerFull(t *testing.T) {
	st, err := swarm.New(swarm.Config{MemoryBudget: 64 << 10, MaxTorrents: 64})
	if err != nil {
		t.Fatal(err)
	}
	tt := startTracker(t, Config{}, st, nil, "")
	c, br := dial(t, tt.addr)
	for i := 0; i < 5000; i++ {
		var h logic.InfoHash
		h[0], h[1], h[2] = byte(i>>8), byte(i), 0x5a
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\n\r\n", announceURL(h, 1000+i%50000, "&left=1"))
		r, err := readResponse(br)
		if err != nil {
			t.Fatal(err)
		}
		if a := decodeAnnounce(t, r.body); a.failure != "" {
			if !strings.HasPrefix(a.failure, "tracker is full") || tt.c.Full.Load() != 1 {
				t.Fatalf("failure %q, Full=%d", a.failure, tt.c.Full.Load())
			}
			return
		}
	}
	t.Fatal("5000 torrents fit into a 64 KiB store with max 64 torrents")
}

func TestClientAddress(t *testing.T) {
	cfg := Config{Proxies: mustNets(t, "127.0.0.1"), Admin: mustNets(t, "10.0.0.0/8")}
	tt := startTracker(t, cfg, nil, nil, "")
	h := ih(7)
	// A trusted proxy names the client; ip= from an admin network is honoured.
	raw := "GET " + announceURL(h, 1111, "&left=1") + " HTTP/1.0\r\nX-Forwarded-For: 192.0.2.7, 127.0.0.1\r\n\r\n"
	roundTrip(t, tt.addr, raw)
	raw = "GET " + announceURL(h, 2222, "&left=1&ip=198.51.100.9") + " HTTP/1.0\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"
	roundTrip(t, tt.addr, raw)
	// ip= from a non-admin client is ignored.
	a := decodeAnnounce(t, get(t, tt.addr, announceURL(h, 3333, "&left=0&ip=203.0.113.1")).body)
	want := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.7:1111"), netip.MustParseAddrPort("198.51.100.9:2222")}
	if !equalSet(a.peers, want...) {
		t.Fatalf("peers %v, want %v", a.peers, want)
	}
	raw = "GET " + announceURL(h, 2222, "&left=1&ip=bogus") + " HTTP/1.0\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"
	if a := decodeAnnounce(t, roundTrip(t, tt.addr, raw).body); a.failure != reasonBadIP {
		t.Fatalf("bad ip: %+v", a)
	}
}
