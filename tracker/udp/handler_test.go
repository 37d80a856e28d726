package udp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// fixedClock lets a test move the server through connection id windows.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

func newTestWorker(t testing.TB, cfg Config) (*worker, *fixedClock) {
	t.Helper()
	s, _ := newTestServer(t, cfg, nil)
	clk := &fixedClock{time.Unix(1_700_000_040, 0)}
	s.now = clk.now
	return newWorker(s), clk
}

// connectID runs a connect through the handler, as a client at src would.
func connectID(t testing.TB, w *worker, src netip.AddrPort) uint64 {
	t.Helper()
	r := w.handle(connectPkt(1), src)
	if len(r) != connectReplyLen {
		t.Fatalf("connect reply %x", r)
	}
	return binary.BigEndian.Uint64(r[8:])
}

func announceVia(t testing.TB, w *worker, src netip.AddrPort, a annArgs) annReply {
	t.Helper()
	id := connectID(t, w, src)
	return decodeAnnounce(t, w.handle(announcePkt(id, 42, a), src), 42, !src.Addr().Unmap().Is4())
}

func TestHandleConnect(t *testing.T) {
	w, _ := newTestWorker(t, Config{})
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	id := connectID(t, w, src)
	// A longer connect is fine (BEP 15: do not expect exact sizes).
	r := w.handle(append(connectPkt(1), 0, 0, 0, 0), src)
	if len(r) != 16 || binary.BigEndian.Uint64(r[8:]) != id {
		t.Fatalf("long connect: %x", r)
	}
	// Same client seen as v4-mapped on a dual-stack socket: same id.
	if got := connectID(t, w, netip.MustParseAddrPort("[::ffff:127.0.0.1]:5000")); got != id {
		t.Fatal("v4-mapped source got another id")
	}
	// Another socket of the same host shares it (libtorrent relies on it).
	if got := connectID(t, w, netip.MustParseAddrPort("127.0.0.1:5001")); got != id {
		t.Fatal("id depends on the port")
	}
	if w.s.stats.UDPConnects.Load() != 4 {
		t.Fatalf("connects counted %d", w.s.stats.UDPConnects.Load())
	}
}

func TestHandleDropsGarbage(t *testing.T) {
	w, _ := newTestWorker(t, Config{})
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	id := connectID(t, w, src)
	withAction := func(action uint32, size int) []byte {
		b := make([]byte, size)
		binary.BigEndian.PutUint64(b, id)
		binary.BigEndian.PutUint32(b[8:], action)
		return b
	}
	badMagic := connectPkt(1)
	badMagic[7] ^= 1
	tooLong := announcePkt(id, 1, annArgs{hash: hashOf("x"), port: 1})
	tooLong = append(tooLong, make([]byte, MaxPacket)...)
	if r := w.handle(connectPkt(1), netip.MustParseAddrPort("127.0.0.1:0")); r != nil {
		t.Error("answered source port 0")
	}
	for name, pkt := range map[string][]byte{
		"empty":            nil,
		"15 bytes":         make([]byte, 15),
		"connect magic":    badMagic,
		"action 3":         withAction(actionError, 64),
		"action 5":         withAction(5, 64),
		"action 0xffffff":  withAction(0xffffffff, 16),
		"short announce":   withAction(actionAnnounce, 97),
		"longer than max":  tooLong,
		"16-byte announce": withAction(actionAnnounce, 16),
	} {
		before := w.s.stats.UDPMalformed.Load()
		if r := w.handle(pkt, src); r != nil {
			t.Errorf("%s: reply %x", name, r)
		}
		if w.s.stats.UDPMalformed.Load() != before+1 {
			t.Errorf("%s: not counted as malformed", name)
		}
	}
}

func TestHandleMismatch(t *testing.T) {
	w, clk := newTestWorker(t, Config{})
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	a := annArgs{hash: hashOf("mismatch"), left: 1, port: 6881}

	r := w.handle(announcePkt(0xdeadbeefdeadbeef, 0x66666666, a), src)
	want := append([]byte{0, 0, 0, 3, 0x66, 0x66, 0x66, 0x66}, "Connection ID missmatch.\x00"...)
	if !bytes.Equal(r, want) {
		t.Fatalf("mismatch reply %x", r)
	}
	// Another client's id is wrong for this one.
	other := connectID(t, w, netip.MustParseAddrPort("127.0.0.2:5000"))
	if msg := decodeError(t, w.handle(announcePkt(other, 7, a), src), 7); msg != msgMismatch {
		t.Fatalf("foreign id: %q", msg)
	}
	// Amplification: a 16..32-byte packet with a bad id gets no 33-byte
	// error (the reference answers it); a 33-byte one may.
	if r := w.handle(scrapePkt(1, 1), src); r != nil {
		t.Fatalf("16-byte scrape with bad id answered: %x", r)
	}
	if r := w.handle(make33(actionScrape), src); len(r) != 33 {
		t.Fatalf("33-byte request: reply %x", r)
	}
	if got := w.s.stats.UDPMismatch.Load(); got != 4 {
		t.Fatalf("mismatches counted %d", got)
	}

	// Rotation: an id lives through its window and the next one.
	id := connectID(t, w, src)
	clk.t = clk.t.Add(3*time.Minute + 59*time.Second)
	if r := w.handle(announcePkt(id, 8, a), src); binary.BigEndian.Uint32(r) != actionAnnounce {
		t.Fatalf("id refused in the next window: %x", r)
	}
	clk.t = clk.t.Add(time.Second)
	if msg := decodeError(t, w.handle(announcePkt(id, 9, a), src), 9); msg != msgMismatch {
		t.Fatalf("stale id: %q", msg)
	}
	if fresh := connectID(t, w, src); fresh == id {
		t.Fatal("id did not rotate")
	}
}

func make33(action uint32) []byte {
	b := make([]byte, 33)
	binary.BigEndian.PutUint32(b[8:], action)
	return b
}

func TestHandleAnnounceAndScrape(t *testing.T) {
	w, _ := newTestWorker(t, Config{})
	h := hashOf("swarm-1")
	l1 := netip.MustParseAddrPort("127.0.0.1:4001")
	l2 := netip.MustParseAddrPort("127.0.0.2:4002")
	s1 := netip.MustParseAddrPort("127.0.0.3:4003")

	r := announceVia(t, w, l1, annArgs{hash: h, left: 10, event: 2, numWant: -1, port: 6881})
	if len(r.peers) != 0 || r.leechers != 1 || r.seeders != 0 {
		t.Fatalf("first leecher: %+v", r)
	}
	if r.interval < 1620 || r.interval > 1979 {
		t.Fatalf("interval %d", r.interval)
	}
	r = announceVia(t, w, l2, annArgs{hash: h, left: 10, event: 2, numWant: -1, port: 6882})
	if fmt.Sprint(r.peers) != "[127.0.0.1:6881]" || r.leechers != 2 {
		t.Fatalf("second leecher sees %+v", r)
	}
	// The seeder completes: it gets both leechers, never itself.
	r = announceVia(t, w, s1, annArgs{hash: h, left: 0, event: 1, numWant: 50, port: 6883})
	if len(r.peers) != 2 || r.seeders != 1 || r.leechers != 2 {
		t.Fatalf("seeder sees %+v", r)
	}
	// A leecher sees the other leecher and the seeder.
	r = announceVia(t, w, l1, annArgs{hash: h, left: 10, numWant: -1, port: 6881})
	if len(r.peers) != 2 || r.peers[0] == netip.MustParseAddrPort("127.0.0.1:6881") || r.peers[1] == netip.MustParseAddrPort("127.0.0.1:6881") {
		t.Fatalf("leecher sees %+v", r)
	}
	// numwant 0: counts only.
	r = announceVia(t, w, l2, annArgs{hash: h, left: 10, numWant: 0, port: 6882})
	if len(r.peers) != 0 || r.leechers != 2 || r.seeders != 1 {
		t.Fatalf("numwant 0: %+v", r)
	}
	// Stopped: 20 bytes, counts without the stopped peer.
	id := connectID(t, w, l2)
	reply := w.handle(announcePkt(id, 5, annArgs{hash: h, left: 10, event: 3, numWant: -1, port: 6882}), l2)
	if len(reply) != 20 {
		t.Fatalf("stopped reply %d bytes", len(reply))
	}
	if r := decodeAnnounce(t, reply, 5, false); r.leechers != 1 || r.seeders != 1 {
		t.Fatalf("after stop: %+v", r)
	}

	id = connectID(t, w, l1)
	got := decodeScrape(t, w.handle(scrapePkt(id, 3, h, hashOf("unknown"), h), l1), 3)
	want := []scrapeEntry{{1, 1, 1}, {0, 0, 0}, {1, 1, 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scrape %v, want %v", got, want)
	}
	// 0 hashes: header only; a trailing partial hash is ignored.
	if r := w.handle(scrapePkt(id, 4), l1); len(r) != 8 {
		t.Fatalf("empty scrape %x", r)
	}
	if got := decodeScrape(t, w.handle(append(scrapePkt(id, 4, h), 1, 2, 3, 4, 5), l1), 4); len(got) != 1 {
		t.Fatalf("partial hash: %v", got)
	}
	// More than 74 hashes: the first 74 are answered.
	many := make([]logic.InfoHash, 80)
	if got := decodeScrape(t, w.handle(scrapePkt(id, 6, many...), l1), 6); len(got) != MaxScrapeHashes {
		t.Fatalf("80 hashes answered %d", len(got))
	}
	c := w.s.stats
	if c.UDPAnnounces.Load() != 6 || c.UDPScrapes.Load() != 4 || c.Completed.Load() != 1 {
		t.Fatalf("counters: announces %d scrapes %d completed %d", c.UDPAnnounces.Load(), c.UDPScrapes.Load(), c.Completed.Load())
	}
}

func TestHandleNumWantCaps(t *testing.T) {
	w, _ := newTestWorker(t, Config{})
	h := hashOf("big swarm")
	for i := 0; i < 250; i++ {
		announceVia(t, w, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1), annArgs{hash: h, left: 1, numWant: 0, port: uint16(1000 + i)})
		var a6 [16]byte
		a6[0], a6[1], a6[15] = 0x20, 0x01, byte(i)
		announceVia(t, w, netip.AddrPortFrom(netip.AddrFrom16(a6), 1), annArgs{hash: h, left: 1, numWant: 0, port: uint16(1000 + i)})
	}
	for _, tc := range []struct {
		src     string
		numWant int32
		peers   int
	}{
		{"192.0.2.1:1", -1, 200},
		{"192.0.2.1:1", -7, 200},
		{"192.0.2.1:1", 1000, 200},
		{"192.0.2.1:1", 17, 17},
		{"[2001:db8::1]:1", -1, 66},
		{"[2001:db8::1]:1", 1000, 66},
		{"[2001:db8::1]:1", 5, 5},
	} {
		src := netip.MustParseAddrPort(tc.src)
		id := connectID(t, w, src)
		reply := w.handle(announcePkt(id, 1, annArgs{hash: h, numWant: tc.numWant, port: 9}), src)
		r := decodeAnnounce(t, reply, 1, src.Addr().Is6())
		if len(r.peers) != tc.peers {
			t.Errorf("%s numwant %d: %d peers, want %d", tc.src, tc.numWant, len(r.peers), tc.peers)
		}
		if len(reply) > 1232 {
			t.Errorf("%s: reply %d bytes", tc.src, len(reply))
		}
		for _, p := range r.peers {
			if p.Addr().Is4() != src.Addr().Is4() {
				t.Fatalf("%s got a peer of the other family: %v", tc.src, p)
			}
		}
		// Counts cover both families (and the one or two requesters).
		if n := r.leechers + r.seeders; n != 501 && n != 502 {
			t.Errorf("%s: counts %d+%d", tc.src, r.leechers, r.seeders)
		}
	}
	// A smaller configured cap.
	w2, _ := newTestWorker(t, Config{MaxNumWant: 30})
	if int(w2.s.maxWant4.Load()) != 30 || int(w2.s.maxWant6.Load()) != 10 {
		t.Fatalf("caps %d/%d", int(w2.s.maxWant4.Load()), int(w2.s.maxWant6.Load()))
	}
	// A huge one is bounded by the store's maximum, which the reply
	// buffer fits in either family.
	w3, _ := newTestWorker(t, Config{MaxNumWant: 1 << 20})
	if int(w3.s.maxWant4.Load()) != logic.MaxPeersPerReply || announceReplyLen+int(w3.s.maxWant6.Load())*logic.CompactV6Size > outLen {
		t.Fatalf("caps %d/%d", int(w3.s.maxWant4.Load()), int(w3.s.maxWant6.Load()))
	}
}

func TestHandleOptions(t *testing.T) {
	w, _ := newTestWorker(t, Config{})
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	h := hashOf("bep41")
	for name, opts := range map[string][]byte{
		"url":          append([]byte{2, 9}, "/announce"...),
		"url+nop+end":  append(append([]byte{1, 2, 9}, "/announce"...), 0, 0xff, 0xff),
		"unknown":      {0x7f, 3, 'a', 'b', 'c', 2, 0},
		"truncated":    {2, 200, '/'},
		"lone type":    {5},
		"much padding": make([]byte, 1000),
	} {
		id := connectID(t, w, src)
		pkt := append(announcePkt(id, 77, annArgs{hash: h, left: 1, numWant: -1, port: 6881}), opts...)
		decodeAnnounce(t, w.handle(pkt, src), 77, false) // answered like a plain announce
		_ = name
	}
}

func TestHandleFull(t *testing.T) {
	st, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20, MaxTorrents: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(withDefaults(Config{}), newTracker(st, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorker(s)
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	var msg string
	for i := 0; i < 64 && msg == ""; i++ {
		id := connectID(t, w, src)
		r := w.handle(announcePkt(id, 3, annArgs{hash: hashOf(fmt.Sprint("t", i)), left: 1, port: 1}), src)
		if binary.BigEndian.Uint32(r) == actionError {
			msg = decodeError(t, r, 3)
		}
	}
	if !strings.HasPrefix(msg, "tracker is full") || s.stats.Full.Load() == 0 {
		t.Fatalf("full store: %q, counted %d", msg, s.stats.Full.Load())
	}
}

// The packet path allocates nothing: connect, announce with peers, scrape,
// errors and drops.
func TestHandleAllocs(t *testing.T) {
	w, _ := newTestWorker(t, Config{})
	h := hashOf("allocs")
	for i := 0; i < 100; i++ {
		announceVia(t, w, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 1), annArgs{hash: h, left: 1, port: 7000})
	}
	v4 := netip.MustParseAddrPort("127.0.0.1:5000")
	v6 := netip.MustParseAddrPort("[::1]:5000")
	id4, id6 := connectID(t, w, v4), connectID(t, w, v6)
	pkts := []struct {
		pkt []byte
		src netip.AddrPort
	}{
		{connectPkt(1), v4},
		{announcePkt(id4, 2, annArgs{hash: h, left: 1, numWant: -1, port: 6881}), v4},
		{append(announcePkt(id4, 2, annArgs{hash: h, numWant: 50, port: 6882}), 2, 3, '/', 'a', 'b'), v4},
		{announcePkt(id6, 2, annArgs{hash: h, left: 1, numWant: -1, port: 6881}), v6},
		{scrapePkt(id4, 3, h, hashOf("nope")), v4},
		{announcePkt(1, 4, annArgs{hash: h}), v4},
		{make([]byte, 10), v4},
	}
	for _, p := range pkts {
		if n := testing.AllocsPerRun(200, func() { w.handle(p.pkt, p.src) }); n != 0 {
			t.Errorf("%d allocs for packet %x", int(n), p.pkt[:16:16])
		}
	}
}
