package livesync

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// goldenV4 is a packet captured (tcpdump) from upstream opentracker HEAD
// sending to 224.0.23.5:9696 with TTL 1: tracker id d7875872, type 0 (IPv4),
// five 28-byte records hash[20] ip[4] port[2] flags[1] age[1] for
// "flagtestflagtestflag", in the order of goldenNews: a new leecher
// 10.99.0.12:2002 (flags 00), its completion with left=0 (c0: seeding and
// completed), 10.99.0.13:2003 completing with left=5 (00: upstream clears
// completed without seeding), 10.99.0.12 stopping as a seeder (a0: stopped
// and seeding), and a stop from the unknown 10.99.0.14:2004 (20: stops are
// sent even for unknown peers). The age byte is always 0.
const goldenV4 = "d787587200000000" +
	"666c616774657374666c616774657374666c6167" + "0a63000c07d20000" +
	"666c616774657374666c616774657374666c6167" + "0a63000c07d2c000" +
	"666c616774657374666c616774657374666c6167" + "0a63000d07d30000" +
	"666c616774657374666c616774657374666c6167" + "0a63000c07d2a000" +
	"666c616774657374666c616774657374666c6167" + "0a63000e07d42000"

// goldenV6 is upstream's type 1 (IPv6) packet, 40-byte records hash[20]
// ip[16] port[2] flags[1] age[1]: tracker id 194a5173, one record for
// "v6testv6testv6testv6", fd00:99::11 port 7777, seeding (80).
const goldenV6 = "194a5173" + "00000001" + "7636746573747636746573747636746573747636" +
	"fd000099000000000000000000000011" + "1e61" + "80" + "00"

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hash(s string) (h logic.InfoHash) { copy(h[:], s); return }

// goldenNews are announces that upstream encodes as the goldenV4 records.
func goldenNews() []logic.News {
	h := hash("flagtestflagtestflag")
	p := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	return []logic.News{
		{InfoHash: h, Peer: p("10.99.0.12:2002")},                                            // new leecher
		{InfoHash: h, Peer: p("10.99.0.12:2002"), Event: logic.EventCompleted, Seeder: true}, // completed, left=0
		{InfoHash: h, Peer: p("10.99.0.13:2003"), Event: logic.EventCompleted},               // completed, left=5
		{InfoHash: h, Peer: p("10.99.0.12:2002"), Event: logic.EventStopped, Seeder: true},   // stopped, left=0
		{InfoHash: h, Peer: p("10.99.0.14:2004"), Event: logic.EventStopped},                 // stopped, unknown
	}
}

// capture is a Syncer without sockets whose packets land in a slice.
type capture struct {
	mu      sync.Mutex
	packets [][]byte
}

func (c *capture) write(p []byte) error {
	c.mu.Lock()
	c.packets = append(c.packets, bytes.Clone(p))
	c.mu.Unlock()
	return nil
}

func (c *capture) get() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.packets...)
}

func (c *capture) wait(t *testing.T, n int) [][]byte {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p := c.get(); len(p) >= n {
			return p
		}
	}
	t.Fatalf("want %d packets, got %d", n, len(c.get()))
	return nil
}

func newCapture(t *testing.T, cfg Config, store *swarm.Store) (*Syncer, *capture) {
	t.Helper()
	s, err := newSyncer(cfg, newTracker(store, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	c := new(capture)
	s.write = c.write
	t.Cleanup(func() { s.Close() })
	return s, c
}

func newStore(t *testing.T) *swarm.Store {
	t.Helper()
	s, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeGoldenV4(t *testing.T) {
	p := unhex(t, goldenV4)
	id, typ, ok := Header(p)
	if !ok || typ != TypeV4 || hex.EncodeToString(id[:]) != "d7875872" {
		t.Fatalf("header %x %d %v", id, typ, ok)
	}
	var got []Record
	if n := Decode(p, func(r *Record) { got = append(got, *r) }); n != 5 {
		t.Fatalf("decoded %d records", n)
	}
	want := []struct {
		peer   string
		flags  byte
		event  logic.Event
		seeder bool
	}{
		{"10.99.0.12:2002", 0x00, logic.EventNone, false},
		{"10.99.0.12:2002", 0xc0, logic.EventCompleted, true},
		{"10.99.0.13:2003", 0x00, logic.EventNone, false},
		{"10.99.0.12:2002", 0xa0, logic.EventStopped, true},
		{"10.99.0.14:2004", 0x20, logic.EventStopped, false},
	}
	for i, w := range want {
		r := got[i]
		if r.InfoHash != hash("flagtestflagtestflag") || r.Peer != netip.MustParseAddrPort(w.peer) || r.Flags != w.flags || r.Age != 0 {
			t.Errorf("record %d: %+v", i, r)
		}
		req := r.Request()
		if req.Event != w.event || req.Seeder != w.seeder || !req.FromSync || req.NumWant != 0 || req.Peer != r.Peer {
			t.Errorf("record %d: request %+v", i, req)
		}
	}
}

func TestDecodeGoldenV6(t *testing.T) {
	var got []Record
	if n := Decode(unhex(t, goldenV6), func(r *Record) { got = append(got, *r) }); n != 1 {
		t.Fatalf("decoded %d", n)
	}
	r := got[0]
	if r.InfoHash != hash("v6testv6testv6testv6") || r.Peer != netip.MustParseAddrPort("[fd00:99::11]:7777") || r.Flags != 0x80 {
		t.Fatalf("%+v", r)
	}
	if req := r.Request(); req.Event != logic.EventNone || !req.Seeder {
		t.Fatalf("%+v", req)
	}
}

func TestDecodeV4MappedAndType0(t *testing.T) {
	h := hash("mappedmappedmappedma")
	var rec [RecordV6Size]byte
	putRecord(rec[:], TypeV6, &h, netip.MustParseAddrPort("10.99.0.51:6002"), FlagSeeding)
	if want := "00000000000000000000ffff0a63003317728000"; hex.EncodeToString(rec[20:]) != want {
		t.Fatalf("type 1 record of a v4 peer: %x, want %s", rec[20:], want)
	}
	p := append(unhex(t, "0102030400000001"), rec[:]...)
	Decode(p, func(r *Record) {
		if !r.Peer.Addr().Is4() || r.Peer != netip.MustParseAddrPort("10.99.0.51:6002") {
			t.Fatalf("v4-mapped decoded as %v", r.Peer)
		}
	})
	var rec4 [RecordV4Size]byte
	putRecord(rec4[:], TypeV4, &h, netip.MustParseAddrPort("[::ffff:10.99.0.51]:6002"), FlagStopped)
	if want := "0a63003317722000"; hex.EncodeToString(rec4[20:]) != want {
		t.Fatalf("type 0 record: %x", rec4[20:])
	}
}

func TestDecodeRejects(t *testing.T) {
	full := unhex(t, goldenV4)
	for name, c := range map[string]struct {
		p    []byte
		want int
	}{
		"empty":          {nil, -1},
		"header only":    {full[:8], -1},
		"unknown type":   {append(unhex(t, "d787587200000002"), full[8:]...), -1},
		"partial record": {full[:8+27], 0},
		"trailing bytes": {full[:8+2*28+27], 2},
		"whole":          {full, 5},
		"v6 trailing":    {unhex(t, goldenV6)[:8+39], 0},
		"type 0 nine":    {full[:9], 0},
	} {
		if got := Decode(c.p, func(*Record) {}); got != c.want {
			t.Errorf("%s: %d records, want %d", name, got, c.want)
		}
	}
}

func TestFlags(t *testing.T) {
	for i, n := range goldenNews() {
		if got, want := Flags(&n), unhex(t, goldenV4)[8+28*i+26]; got != want {
			t.Errorf("news %d: flags %#x, want %#x", i, got, want)
		}
	}
	paused := logic.News{Event: logic.EventPaused, Seeder: true}
	if Flags(&paused) != FlagSeeding {
		t.Error("paused")
	}
}

// TestEncodeGolden: with AlsoType0 the type 0 packet is upstream's, byte for
// byte (but the id); the type 1 packet carries the same peers v4-mapped.
func TestEncodeGolden(t *testing.T) {
	s, c := newCapture(t, Config{FlushDelay: 20 * time.Millisecond, AlsoType0: true}, nil)
	s.id = [4]byte{0xd7, 0x87, 0x58, 0x72}
	for _, n := range goldenNews() {
		s.Send(n)
	}
	s.Start()
	got := c.wait(t, 2)
	if len(got) != 2 {
		t.Fatalf("%d packets", len(got))
	}
	if hex.EncodeToString(got[1]) != goldenV4 {
		t.Errorf("type 0 packet\n got %x\nwant %s", got[1], goldenV4)
	}
	v6 := got[0]
	if len(v6) != 8+5*40 || hex.EncodeToString(v6[:8]) != "d787587200000001" {
		t.Fatalf("type 1 packet %x", v6)
	}
	i := 0
	Decode(v6, func(r *Record) {
		var want Record
		Decode(unhex(t, goldenV4)[:8+28*(i+1)], func(w *Record) { want = *w })
		if *r != want {
			t.Errorf("record %d: %+v, want %+v", i, *r, want)
		}
		i++
	})
	if hex.EncodeToString(v6[8+20:8+32]) != "00000000000000000000ffff" {
		t.Errorf("not v4-mapped: %x", v6[8:48])
	}

	// Only type 1 by default.
	s2, c2 := newCapture(t, Config{FlushDelay: 10 * time.Millisecond}, nil)
	s2.Start()
	s2.Send(goldenNews()[0])
	if p := c2.wait(t, 1); len(p[0]) != 48 || p[0][7] != 1 {
		t.Fatalf("%x", p[0])
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(c2.get()); n != 1 {
		t.Fatalf("%d packets", n)
	}
}

func TestEncodeGoldenV6(t *testing.T) {
	s, c := newCapture(t, Config{FlushDelay: 10 * time.Millisecond, AlsoType0: true}, nil)
	s.id = [4]byte{0x19, 0x4a, 0x51, 0x73}
	s.Start()
	s.Send(logic.News{InfoHash: hash("v6testv6testv6testv6"), Peer: netip.MustParseAddrPort("[fd00:99::11]:7777"), Seeder: true})
	if p := c.wait(t, 1); hex.EncodeToString(p[0]) != goldenV6 {
		t.Fatalf("got %x\nwant %s", p[0], goldenV6)
	}
}

// TestFlushBoundary: 36 type 1 records (1448 bytes) go out at once, without
// waiting for the timer; the 37th starts the next packet. Type 0 holds 52.
func TestFlushBoundary(t *testing.T) {
	if MaxRecords(TypeV6) != 36 || MaxRecords(TypeV4) != 52 {
		t.Fatal(MaxRecords(TypeV6), MaxRecords(TypeV4))
	}
	s, c := newCapture(t, Config{FlushDelay: time.Hour, AlsoType0: true}, nil)
	s.Start()
	news := func(i int) logic.News {
		return logic.News{InfoHash: hash("boundaryboundaryboun"), Peer: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1000)}
	}
	for i := range 36 {
		s.Send(news(i))
	}
	p := c.wait(t, 1)
	if len(p[0]) != 1448 || p[0][7] != TypeV6 {
		t.Fatalf("first packet %d bytes, type %d", len(p[0]), p[0][7])
	}
	for i := 36; i < 53; i++ {
		s.Send(news(i))
	}
	p = c.wait(t, 2)
	if len(p[1]) != 1464 || p[1][7] != TypeV4 {
		t.Fatalf("second packet %d bytes, type %d", len(p[1]), p[1][7])
	}
	time.Sleep(30 * time.Millisecond)
	if n := len(c.get()); n != 2 {
		t.Fatalf("%d packets before the timer", n)
	}
	s.Close() // sends the rest: 17 type 1 records and 1 type 0 record
	p = c.get()
	if len(p) != 4 || len(p[2]) != 8+17*40 || len(p[3]) != 8+28 {
		for _, q := range p {
			t.Logf("%d bytes", len(q))
		}
		t.Fatal("rest not flushed on Close")
	}
	for _, q := range p {
		if len(q) > MaxPacket {
			t.Fatalf("%d bytes", len(q))
		}
	}
}

func TestFlushTimer(t *testing.T) {
	s, c := newCapture(t, Config{FlushDelay: 50 * time.Millisecond}, nil)
	s.Start()
	start := time.Now()
	s.Send(goldenNews()[0])
	c.wait(t, 1)
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Fatalf("flushed after %v", d)
	}
	// Idle: no more packets, and the next record is timed afresh.
	s.Send(goldenNews()[1])
	c.wait(t, 2)
	time.Sleep(120 * time.Millisecond)
	if n := len(c.get()); n != 2 {
		t.Fatalf("%d packets", n)
	}
	if DefaultFlushDelay > 2*time.Second {
		t.Fatal("default flush delay too long")
	}
}

// TestSendFailuresAreCounted: records in packets that cannot be written
// are counted as dropped, in the Syncer's stats and the tracker's counters,
// and Send does not wait for a failing socket.
func TestSendFailuresAreCounted(t *testing.T) {
	counters := new(logic.Counters)
	s, err := newSyncer(Config{FlushDelay: time.Hour}, newTracker(nil, nil, counters))
	if err != nil {
		t.Fatal(err)
	}
	s.write = func([]byte) error { return errors.New("no buffer space available") }
	s.Start()
	const records = 100 * 36
	done := make(chan struct{})
	go func() {
		for i := range records {
			n := goldenNews()[0]
			n.Peer = netip.AddrPortFrom(n.Peer.Addr(), uint16(i))
			s.Send(n)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Send blocked")
	}
	s.Close()
	if st := s.Stats(); st.RecordsDropped != records || st.RecordsSent != 0 || counters.SyncDropped.Load() != records {
		t.Fatalf("stats %+v, counter %d; want %d records dropped", st, counters.SyncDropped.Load(), records)
	}
}

// TestBurstLosesNoRecord: 5000 new peers announced in a burst on one CPU,
// where the sender goroutine hardly runs, all reach the cluster, in the
// order they were announced. The send queue used to drop two thirds.
func TestBurstLosesNoRecord(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	counters := new(logic.Counters)
	tr := newTracker(newStore(t), nil, counters)
	s, err := newSyncer(Config{FlushDelay: time.Second}, tr)
	if err != nil {
		t.Fatal(err)
	}
	c := new(capture)
	s.write = c.write
	tr.Observe(s.Send)
	s.Start()
	const burst = 5000
	var buf logic.PeerBuffer
	h := hash("burstburstburstburst")
	for i := range burst {
		p := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 6881)
		if _, err := tr.Announce(&logic.Request{InfoHash: h, Peer: p}, &buf); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	next := 0
	for _, p := range c.get() {
		Decode(p, func(r *Record) {
			if want := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(next >> 8), byte(next)}), 6881); r.Peer != want {
				t.Fatalf("record %d is %v, want %v", next, r.Peer, want)
			}
			next++
		})
	}
	st := s.Stats()
	t.Logf("burst of %d: %d records sent in %d packets, %d dropped", burst, st.RecordsSent, st.PacketsSent, st.RecordsDropped)
	if next != burst || st.RecordsSent != burst || st.RecordsDropped != 0 || counters.SyncSent.Load() != burst {
		t.Fatalf("%d of %d records arrived; stats %+v", next, burst, st)
	}
}

func TestSendDoesNotAllocate(t *testing.T) {
	s, _ := newCapture(t, Config{FlushDelay: time.Millisecond, AlsoType0: true}, nil)
	s.write = func([]byte) error { return nil }
	s.Start()
	news := goldenNews()
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		s.Send(news[i%len(news)])
		i++
	})
	if allocs != 0 {
		t.Fatalf("Send allocates %v times", allocs)
	}
}

func mkPacket(id string, typ uint32, recs ...[]byte) []byte {
	p, _ := hex.DecodeString(id)
	p = append(p, 0, 0, 0, byte(typ))
	for _, r := range recs {
		p = append(p, r...)
	}
	return p
}

func record(typ uint32, h string, peer string, flags byte) []byte {
	b := make([]byte, recordSize(typ))
	ih := hash(h)
	putRecord(b, typ, &ih, netip.MustParseAddrPort(peer), flags)
	return b
}

// TestHandle applies packets to a store: node filter, own id, types, flags.
func TestHandle(t *testing.T) {
	store := newStore(t)
	nodes, _ := logic.ParseNetworks([]string{"10.99.0.0/24"})
	counters := new(logic.Counters)
	s, err := newSyncer(Config{Nodes: nodes}, newTracker(store, nil, counters))
	if err != nil {
		t.Fatal(err)
	}
	s.id = [4]byte{1, 2, 3, 4}
	var buf Scratch
	node := netip.MustParseAddr("10.99.0.1")
	const h = "handlehandlehandleha"
	counts := func() logic.Counts { c, _ := store.Scrape(hash(h)); return c }

	seed := record(TypeV6, h, "10.99.0.51:6002", FlagSeeding)
	if n := s.Handle(netip.MustParseAddr("10.98.0.1"), mkPacket("aabbccdd", TypeV6, seed), &buf); n != 0 {
		t.Fatal("applied a packet from outside the nodes")
	}
	if n := s.Handle(node, mkPacket("01020304", TypeV6, seed), &buf); n != 0 {
		t.Fatal("applied our own packet")
	}
	if n := s.Handle(node, mkPacket("aabbccdd", 2, seed), &buf); n != 0 {
		t.Fatal("applied type 2")
	}
	if n := s.Handle(node, mkPacket("aabbccdd", TypeV6), &buf); n != 0 {
		t.Fatal("applied an empty packet")
	}
	if c := counts(); c != (logic.Counts{}) || counters.SyncReceived.Load() != 0 {
		t.Fatalf("%+v", c)
	}
	if got := s.Stats().PacketsRejected; got != 4 {
		t.Fatalf("rejected %d", got)
	}

	// type 1 v4-mapped seeder, type 0 leecher, v6 leecher that completes
	if n := s.Handle(node, mkPacket("aabbccdd", TypeV6, seed, record(TypeV6, h, "[fd00::50]:7000", 0)), &buf); n != 2 {
		t.Fatalf("applied %d", n)
	}
	if n := s.Handle(node, mkPacket("aabbccdd", TypeV4, record(TypeV4, h, "10.99.0.60:6000", 0)), &buf); n != 1 {
		t.Fatalf("applied %d", n)
	}
	if c := counts(); c.Seeders != 1 || c.Leechers != 2 {
		t.Fatalf("%+v", c)
	}
	res, err := store.Announce(&logic.Request{InfoHash: hash(h), Peer: netip.MustParseAddrPort("10.99.0.99:1"), NumWant: 50, Families: logic.BothFamilies}, &buf.peers)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(res.Peers4, []byte{10, 99, 0, 51, 0x17, 0x72}) || !bytes.Contains(res.Peers4, []byte{10, 99, 0, 60, 0x17, 0x70}) || len(res.Peers6) != 18 {
		t.Fatalf("peers4 %x peers6 %x", res.Peers4, res.Peers6)
	}
	store.Announce(&logic.Request{InfoHash: hash(h), Peer: netip.MustParseAddrPort("10.99.0.99:1"), Event: logic.EventStopped}, &buf.peers)

	s.Handle(node, mkPacket("aabbccdd", TypeV6, record(TypeV6, h, "[fd00::50]:7000", FlagSeeding|FlagCompleted)), &buf)
	if c := counts(); c.Seeders != 2 || c.Leechers != 1 || c.Completed != 1 {
		t.Fatalf("after completed: %+v", c)
	}
	// stopped removes, from either type
	s.Handle(node, mkPacket("aabbccdd", TypeV6, record(TypeV6, h, "10.99.0.51:6002", FlagStopped|FlagSeeding)), &buf)
	s.Handle(node, mkPacket("aabbccdd", TypeV4, record(TypeV4, h, "10.99.0.60:6000", FlagStopped)), &buf)
	if c := counts(); c.Seeders != 1 || c.Leechers != 0 {
		t.Fatalf("after stopped: %+v", c)
	}
	if got := counters.SyncReceived.Load(); got != 6 {
		t.Fatalf("SyncReceived %d", got)
	}
}

// TestHandleAccessList: records of torrents the list refuses are skipped.
func TestHandleAccessList(t *testing.T) {
	store := newStore(t)
	nodes, _ := logic.ParseNetworks([]string{"10.0.0.0/8"})
	acl := access.New(access.Whitelist, "") // empty whitelist: nothing allowed
	s, err := newSyncer(Config{Nodes: nodes}, newTracker(store, acl, nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf Scratch
	if n := s.Handle(netip.MustParseAddr("10.0.0.1"), mkPacket("aabbccdd", TypeV6, record(TypeV6, "deniedeniedeniedenie", "10.1.1.1:1", 0)), &buf); n != 0 {
		t.Fatalf("applied %d", n)
	}
}

// TestNoRebroadcast: records applied from sync are not observed.
func TestNoRebroadcast(t *testing.T) {
	store := newStore(t)
	nodes, _ := logic.ParseNetworks([]string{"10.0.0.0/8"})
	s, c := newCapture(t, Config{Nodes: nodes, FlushDelay: 5 * time.Millisecond}, store)
	s.t.Observe(s.Send)
	s.Start()
	var buf Scratch
	if n := s.Handle(netip.MustParseAddr("10.0.0.1"), mkPacket("aabbccdd", TypeV6, record(TypeV6, "synsynsynsynsynsynsy", "10.1.1.1:1", 0)), &buf); n != 1 {
		t.Fatal(n)
	}
	s.t.Announce(&logic.Request{InfoHash: hash("locallocallocallocal"), Peer: netip.MustParseAddrPort("10.1.1.2:2")}, &buf.peers)
	p := c.wait(t, 1)
	time.Sleep(30 * time.Millisecond)
	p = c.get()
	if len(p) != 1 || len(p[0]) != 48 || !bytes.Equal(p[0][8:28], []byte("locallocallocallocal")) {
		t.Fatalf("%d packets: %x", len(p), p)
	}
}

// newTracker is the policy over store (nil for tests that apply nothing).
func newTracker(store *swarm.Store, acl *access.List, c *logic.Counters) *logic.Tracker {
	return logic.New(logic.Config{Interval: 30 * time.Minute}, store, acl, c)
}

// TestSetNodes: packets from networks added by SetNodes are applied, from
// networks it removed refused.
func TestSetNodes(t *testing.T) {
	store := newStore(t)
	nodes, _ := logic.ParseNetworks([]string{"10.99.0.0/24"})
	s, err := newSyncer(Config{Nodes: nodes}, newTracker(store, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf Scratch
	seed := record(TypeV6, "nodesnodesnodesnodes", "10.99.0.51:6002", FlagSeeding)
	other := netip.MustParseAddr("10.98.0.1")
	if n := s.Handle(other, mkPacket("aabbccdd", TypeV6, seed), &buf); n != 0 {
		t.Fatal("applied a packet from outside the nodes")
	}
	moved, _ := logic.ParseNetworks([]string{"10.98.0.0/24"})
	s.SetNodes(moved)
	if n := s.Handle(other, mkPacket("aabbccdd", TypeV6, seed), &buf); n != 1 {
		t.Fatal("refused a packet from a node network set by SetNodes")
	}
	if n := s.Handle(netip.MustParseAddr("10.99.0.1"), mkPacket("aabbccdd", TypeV6, seed), &buf); n != 0 {
		t.Fatal("applied a packet from a network SetNodes removed")
	}
}
