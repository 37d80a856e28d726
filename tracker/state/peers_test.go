package state

import (
	"bytes"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// clock is a settable clock for stores in these tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)

func clockedStore(t *testing.T, at time.Time) (*swarm.Store, *clock) {
	t.Helper()
	clk := &clock{t: at}
	s, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// at moves a store's clock and lets it expire what is due.
func at(s *swarm.Store, clk *clock, when time.Time) {
	clk.Set(when)
	s.Tick()
	s.SweepAll()
}

func peersOf(t *testing.T, s *swarm.Store, h logic.InfoHash, asker netip.AddrPort) map[netip.AddrPort]bool {
	t.Helper()
	var buf logic.PeerBuffer
	res, err := s.Announce(&logic.Request{InfoHash: h, Peer: asker, NumWant: 50, Families: logic.BothFamilies}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	got := map[netip.AddrPort]bool{}
	for b := res.Peers4; len(b) >= 6; b = b[6:] {
		got[netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), uint16(b[4])<<8|uint16(b[5]))] = true
	}
	for b := res.Peers6; len(b) >= 18; b = b[18:] {
		got[netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[:16])), uint16(b[16])<<8|uint16(b[17]))] = true
	}
	return got
}

// TestPeersKeepTheirRemainingTime: peers saved and loaded into a new store
// are handed out, and each expires when it would have without the restart
// (45-minute timeout): one announced 30 minutes before the save and one 10
// minutes before, loaded 5 minutes after it, have 10 and 30 minutes left.
func TestPeersKeepTheirRemainingTime(t *testing.T) {
	a, aclk := clockedStore(t, t0)
	h := logic.InfoHash{7}
	old := netip.MustParseAddrPort("192.168.1.10:6881")
	young := netip.MustParseAddrPort("[fd00::20]:51413")
	var buf logic.PeerBuffer
	a.Announce(&logic.Request{InfoHash: h, Peer: old, Seeder: true}, &buf)
	at(a, aclk, t0.Add(20*time.Minute))
	a.Announce(&logic.Request{InfoHash: h, Peer: young}, &buf)
	at(a, aclk, t0.Add(30*time.Minute))
	var dump bytes.Buffer
	if n, err := Write(&dump, a, aclk.Now()); err != nil || n.Torrents != 1 || n.Peers != 2 {
		t.Fatalf("wrote %+v, %v", n, err)
	}

	loadAt := t0.Add(35 * time.Minute)
	b, bclk := clockedStore(t, loadAt)
	n, problems, err := Read(bytes.NewReader(dump.Bytes()), "st", b, nil, loadAt)
	if err != nil || len(problems) != 0 || n != (Restored{1, 2}) {
		t.Fatalf("restored %+v, %v, %v", n, problems, err)
	}
	if c, _ := b.Scrape(h); c.Seeders != 1 || c.Leechers != 1 {
		t.Fatalf("counts after restore %+v, want 1 seeder and 1 leecher", c)
	}
	// Askers on another torrent's address family still get both families.
	asker := netip.MustParseAddrPort("10.9.9.9:1")
	if got := peersOf(t, b, h, asker); !got[old] || !got[young] || len(got) != 2 {
		t.Fatalf("new client after restore got %v", got)
	}
	at(b, bclk, t0.Add(44*time.Minute)) // old has a minute left
	if c, _ := b.Scrape(h); c.Seeders != 1 {
		t.Fatalf("old peer gone %v before its time", 45*time.Minute-44*time.Minute)
	}
	at(b, bclk, t0.Add(46*time.Minute))
	if c, _ := b.Scrape(h); c.Seeders != 0 || c.Leechers != 2 {
		t.Fatalf("at 46 min: %+v, want the old seeder expired, young and asker left", c)
	}
	at(b, bclk, t0.Add(64*time.Minute)) // young has a minute left
	if got := peersOf(t, b, h, netip.MustParseAddrPort("10.9.9.8:1")); !got[young] {
		t.Fatalf("young peer gone before its time: %v", got)
	}
	at(b, bclk, t0.Add(66*time.Minute))
	if got := peersOf(t, b, h, netip.MustParseAddrPort("10.9.9.7:1")); got[young] {
		t.Fatalf("young peer outlived its timeout: %v", got)
	}
}

// TestTorrentKeepsItsAge: a torrent with a download, last announced 23
// hours before the save, expires an hour later (24 h timeout), not 24 hours
// after the restart; the same holds for a reference line.
func TestTorrentKeepsItsAge(t *testing.T) {
	a, aclk := clockedStore(t, t0)
	h := logic.InfoHash{9}
	var buf logic.PeerBuffer
	p := netip.MustParseAddrPort("10.0.0.1:1")
	a.Announce(&logic.Request{InfoHash: h, Peer: p, Seeder: true, Event: logic.EventCompleted}, &buf)
	a.Announce(&logic.Request{InfoHash: h, Peer: p, Event: logic.EventStopped}, &buf)
	saved := t0.Add(23 * time.Hour)
	at(a, aclk, saved)
	var dump bytes.Buffer
	if _, err := Write(&dump, a, saved); err != nil {
		t.Fatal(err)
	}
	ref := "0909090909090909090909090909090909090909:" + itoa(t0.Unix()/60) + ":1\n"
	hr := logic.InfoHash{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}
	for name, src := range map[string][]byte{"format 2": dump.Bytes(), "reference": []byte(ref)} {
		want := h
		if name == "reference" {
			want = hr
		}
		b, bclk := clockedStore(t, saved)
		if n, problems, err := Read(bytes.NewReader(src), name, b, nil, saved); n.Torrents != 1 || len(problems) != 0 || err != nil {
			t.Fatalf("%s: restored %+v, %v, %v", name, n, problems, err)
		}
		at(b, bclk, saved.Add(50*time.Minute))
		if c, ok := b.Scrape(want); !ok || c.Completed != 1 {
			t.Fatalf("%s: torrent gone before its 24 h: %v %+v", name, ok, c)
		}
		at(b, bclk, saved.Add(62*time.Minute))
		if _, ok := b.Scrape(want); ok {
			t.Fatalf("%s: torrent last announced 24 h 2 min ago is still there", name)
		}
	}
}

// TestCompletedPeerIsNotCountedTwice: a restored peer that had its download
// counted does not count again when it re-announces completed.
func TestCompletedPeerIsNotCountedTwice(t *testing.T) {
	a, _ := clockedStore(t, t0)
	h := logic.InfoHash{3}
	p := netip.MustParseAddrPort("10.0.0.3:3")
	var buf logic.PeerBuffer
	a.Announce(&logic.Request{InfoHash: h, Peer: p, Seeder: true, Event: logic.EventCompleted}, &buf)
	var dump bytes.Buffer
	Write(&dump, a, t0)
	b, _ := clockedStore(t, t0)
	Read(bytes.NewReader(dump.Bytes()), "st", b, nil, t0)
	res, err := b.Announce(&logic.Request{InfoHash: h, Peer: p, Seeder: true, Event: logic.EventCompleted}, &buf)
	if err != nil || res.NewDownload || res.Completed != 1 {
		t.Fatalf("re-announce after restore: %+v %v", res.Counts, err)
	}
}

// TestDamagedDumpsAreReported: a changed byte, a cut file and an unknown
// version are problems with the byte offset; what came before stays.
func TestDamagedDumpsAreReported(t *testing.T) {
	a, _ := clockedStore(t, t0)
	var buf logic.PeerBuffer
	for i := 0; i < 20; i++ {
		a.Announce(&logic.Request{InfoHash: logic.InfoHash{byte(i)}, Peer: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1)}, &buf)
	}
	var dump bytes.Buffer
	Write(&dump, a, t0)
	good := dump.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(magic)+8+5] ^= 1 // inside the first torrent's hash
	for name, c := range map[string]struct {
		src  []byte
		want string
	}{
		"flipped":   {flipped, "checksum"},
		"cut":       {good[:len(good)-20], "truncated"},
		"version 3": {[]byte(strings.Replace(string(good), "state 2", "state 3", 1)), "unknown state format"},
		"bad tag":   {append(bytes.Clone(good[:len(magic)+8]), 'X', 0, 0), "unknown record type 0x58"},
	} {
		b, _ := clockedStore(t, t0)
		_, problems, err := Read(bytes.NewReader(c.src), "st", b, nil, t0)
		if err != nil || len(problems) != 1 || !strings.Contains(problems[0].Error(), c.want) || !strings.HasPrefix(problems[0].Error(), "st: byte ") {
			t.Errorf("%s: problems %v, err %v; want one with %q", name, problems, err, c.want)
		}
	}
	b, _ := clockedStore(t, t0)
	if n, problems, _ := Read(bytes.NewReader(good), "st", b, nil, t0); len(problems) != 0 || n != (Restored{20, 20}) {
		t.Fatalf("intact dump: %+v %v", n, problems)
	}
}

// TestWriteMemoryDoesNotGrowWithTheStore: writing a store of 20,000 peers
// allocates no more than writing one of ten.
func TestWriteMemoryDoesNotGrowWithTheStore(t *testing.T) {
	fill := func(torrents, peers int) *swarm.Store {
		s, err := swarm.New(swarm.Config{MemoryBudget: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		var buf logic.PeerBuffer
		for i := 0; i < torrents; i++ {
			for j := 0; j < peers; j++ {
				p := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(j >> 8), byte(j), 1}), uint16(i+1))
				if _, err := s.Announce(&logic.Request{InfoHash: logic.InfoHash{byte(i), byte(i >> 8), 1}, Peer: p}, &buf); err != nil {
					t.Fatal(err)
				}
			}
		}
		return s
	}
	small, large := fill(10, 1), fill(200, 100)
	allocated := func(s *swarm.Store) (bytes uint64, times float64) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		times = testing.AllocsPerRun(3, func() { Write(io.Discard, s, t0) })
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, times
	}
	bs, as := allocated(small)
	bl, al := allocated(large)
	// The chunk buffer dominates both; 20,000 peers would add 200 kB.
	if al > as || bl > bs+16<<10 {
		t.Fatalf("writing 20,000 peers allocates %d bytes in %v allocations, 10 peers %d in %v", bl, al, bs, as)
	}
	var counted countingWriter
	if n, _ := Write(&counted, large, t0); n.Peers != 20000 || counted.writes < 20000/chunkRecords {
		t.Fatalf("large store written as %+v in %d writes", n, counted.writes)
	}
}

type countingWriter struct{ writes int }

func (w *countingWriter) Write(p []byte) (int, error) {
	if len(p) > chunkBytes {
		panic("a write larger than one chunk")
	}
	w.writes++
	return len(p), nil
}

// TestAppendDumpWritesRealAges: the reference-format dump (also
// /stats?mode=statedump) gives each torrent the minute of its last
// announce, not the minute of the dump, and loads back with that age.
func TestAppendDumpWritesRealAges(t *testing.T) {
	a, clk := clockedStore(t, t0)
	var buf logic.PeerBuffer
	a.Announce(&logic.Request{InfoHash: logic.InfoHash{5}, Peer: netip.MustParseAddrPort("10.0.0.5:5"), Seeder: true, Event: logic.EventCompleted}, &buf)
	at(a, clk, t0.Add(30*time.Minute))
	got := string(AppendDump(nil, a, clk.Now()))
	want := "0500000000000000000000000000000000000000:" + itoa(t0.Unix()/60) + ":1\n"
	if got != want {
		t.Fatalf("dump %q, want %q", got, want)
	}
}
