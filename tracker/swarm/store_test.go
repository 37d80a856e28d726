package swarm

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

func TestPeersSeeEachOtherButNotThemselves(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	h := hashN(1)
	a, b, c := peer4(1, 6881), peer4(2, 6881), peer4(1, 6882) // c: same ip as a, other port
	announce(t, s, h, a, false, logic.EventStarted, 50)
	announce(t, s, h, b, false, logic.EventStarted, 50)
	res := announce(t, s, h, c, false, logic.EventStarted, 50)
	got := decodePeers(res.Peers4, logic.CompactV4Size)
	if len(got) != 2 || !contains(got, a) || !contains(got, b) || contains(got, c) {
		t.Fatalf("c got %v, want a and b only", got)
	}
	if res.Leechers != 3 || res.Seeders != 0 {
		t.Fatalf("counts %+v", res.Counts)
	}
	// a re-announce does not add a peer
	res = announce(t, s, h, a, false, logic.EventNone, 50)
	if res.Leechers != 3 || len(decodePeers(res.Peers4, 6)) != 2 {
		t.Fatalf("re-announce: %+v %v", res.Counts, decodePeers(res.Peers4, 6))
	}
}

func contains(list []netip.AddrPort, p netip.AddrPort) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}

func TestSeederGetsOnlyLeechers(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	h := hashN(2)
	seeds := []netip.AddrPort{peer4(1, 1), peer4(2, 1), peer4(3, 1)}
	leech := []netip.AddrPort{peer4(4, 1), peer6(5, 1)}
	for _, p := range seeds {
		announce(t, s, h, p, true, logic.EventStarted, 50)
	}
	for _, p := range leech {
		announce(t, s, h, p, false, logic.EventStarted, 50)
	}
	res := announce(t, s, h, seeds[0], true, logic.EventNone, 50)
	got := append(decodePeers(res.Peers4, 6), decodePeers(res.Peers6, 18)...)
	if len(got) != 2 || !contains(got, leech[0]) || !contains(got, leech[1]) {
		t.Fatalf("seeder got %v, want the two leechers", got)
	}
	if res.Seeders != 3 || res.Leechers != 2 {
		t.Fatalf("counts %+v", res.Counts)
	}
	// a leecher gets everyone else, both families
	res = announce(t, s, h, leech[0], false, logic.EventNone, 50)
	if n := len(res.Peers4)/6 + len(res.Peers6)/18; n != 4 {
		t.Fatalf("leecher got %d peers, want 4", n)
	}
}

func TestStoppedAndCompleted(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	h := hashN(3)
	a, b := peer4(1, 1), peer4(2, 1)
	announce(t, s, h, a, false, logic.EventStarted, 50)
	announce(t, s, h, b, false, logic.EventStarted, 50)
	res := announce(t, s, h, a, true, logic.EventCompleted, 50)
	if res.Completed != 1 || res.Seeders != 1 || res.Leechers != 1 {
		t.Fatalf("after completed: %+v", res.Counts)
	}
	res = announce(t, s, h, a, true, logic.EventCompleted, 50) // repeated: not counted again
	if res.Completed != 1 {
		t.Fatalf("completed counted twice: %+v", res.Counts)
	}
	res = announce(t, s, h, b, false, logic.EventCompleted, 50) // completed while leeching: ignored
	if res.Completed != 1 {
		t.Fatalf("completed without left=0 counted: %+v", res.Counts)
	}
	res = announce(t, s, h, a, true, logic.EventStopped, 50)
	if res.Seeders != 0 || res.Leechers != 1 || len(res.Peers4) != 0 {
		t.Fatalf("after stop: %+v peers %d", res.Counts, len(res.Peers4))
	}
	// stopping an unknown peer or torrent is harmless
	announce(t, s, h, peer4(9, 9), false, logic.EventStopped, 50)
	announce(t, s, hashN(99), peer4(9, 9), false, logic.EventStopped, 50)
	if _, ok := s.Scrape(hashN(99)); ok {
		t.Fatal("a stop created a torrent")
	}
	c, ok := s.Scrape(h)
	if !ok || c != (logic.Counts{Seeders: 0, Leechers: 1, Completed: 1}) {
		t.Fatalf("scrape %+v %v", c, ok)
	}
	st := s.Stats()
	if st.Torrents != 1 || st.Peers4 != 1 || st.Seeders != 0 || st.Completed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTorrentWithoutPeersOrDownloadsIsDeletedOnStop(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	h := hashN(4)
	announce(t, s, h, peer4(1, 1), false, logic.EventStarted, 0)
	announce(t, s, h, peer4(1, 1), false, logic.EventStopped, 0)
	if _, ok := s.Scrape(h); ok {
		t.Fatal("empty torrent kept")
	}
	if st := s.Stats(); st.Torrents != 0 || st.ArenaUsedBytes != 0 {
		t.Fatalf("stats after delete: %+v", st)
	}
}

func TestExpiry(t *testing.T) {
	s, clk := newTestStore(t, 1<<20)
	done, idle := hashN(5), hashN(6)
	announce(t, s, done, peer4(1, 1), true, logic.EventCompleted, 0)
	announce(t, s, idle, peer4(2, 1), false, logic.EventStarted, 0)
	clk.Advance(30 * time.Minute)
	s.Tick()
	announce(t, s, idle, peer4(3, 1), false, logic.EventStarted, 0) // fresh peer
	clk.Advance(20 * time.Minute)                                   // first peers now 50 min old
	s.Tick()
	s.SweepAll()
	if c, _ := s.Scrape(idle); c.Leechers != 1 {
		t.Fatalf("idle torrent after 50 min: %+v, want the fresh peer only", c)
	}
	c, ok := s.Scrape(done)
	if !ok || c.Seeders != 0 || c.Completed != 1 {
		t.Fatalf("completed torrent must stay without peers: %+v %v", c, ok)
	}
	clk.Advance(30 * time.Minute)
	s.Tick()
	s.SweepAll()
	if _, ok := s.Scrape(idle); ok {
		t.Fatal("torrent without peers and downloads not expired")
	}
	if _, ok := s.Scrape(done); !ok {
		t.Fatal("torrent with downloads expired before 24h")
	}
	clk.Advance(24 * time.Hour)
	s.Tick()
	s.SweepAll()
	if _, ok := s.Scrape(done); ok {
		t.Fatal("torrent with downloads kept past 24h")
	}
	if st := s.Stats(); st.Torrents != 0 || st.Peers4 != 0 || st.Seeders != 0 || st.ArenaUsedBytes != 0 {
		t.Fatalf("stats after expiry: %+v", st)
	}
}

func TestNumwantSpreadsAndBounds(t *testing.T) {
	s, _ := newTestStore(t, 4<<20)
	h := hashN(7)
	for i := 0; i < 1000; i++ {
		announce(t, s, h, peer4(i, 1), false, logic.EventStarted, 0)
	}
	self := peer4(500, 1)
	seen := map[netip.AddrPort]bool{}
	for round := 0; round < 20; round++ {
		res := announce(t, s, h, self, false, logic.EventNone, 50)
		got := decodePeers(res.Peers4, 6)
		if len(got) != 50 {
			t.Fatalf("got %d peers, want 50", len(got))
		}
		uniq := map[netip.AddrPort]bool{}
		for _, p := range got {
			if p == self {
				t.Fatal("requester returned to itself")
			}
			if uniq[p] {
				t.Fatalf("peer %v twice in one reply", p)
			}
			uniq[p] = true
			seen[p] = true
		}
	}
	if len(seen) < 300 {
		t.Fatalf("20 replies covered only %d distinct peers of 999", len(seen))
	}
	if res := announce(t, s, h, self, false, logic.EventNone, 10000); len(res.Peers4)/6 != logic.MaxPeersPerReply {
		t.Fatalf("numwant above the cap gave %d peers", len(res.Peers4)/6)
	}
}

func TestBudgetFullRefusesWithoutGrowth(t *testing.T) {
	const budget = 256 << 10
	s, _ := newTestStore(t, budget)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var buf logic.PeerBuffer
	req := logic.Request{NumWant: 50, Families: logic.BothFamilies}
	stored, refused := 0, 0
	var firstErr error
	for i := 0; i < 100000 && refused < 100; i++ {
		req.InfoHash = hashN(i % 50)
		req.Peer = peer4(i, 6881)
		if _, err := s.Announce(&req, &buf); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			refused++
			continue
		}
		stored++
	}
	if !errors.Is(firstErr, logic.ErrFull) || firstErr.Error() != "tracker is full: no room for another peer" {
		t.Fatalf("refusal error %v", firstErr)
	}
	st := s.Stats()
	if st.Peers4 != stored || st.RefusedPeers != uint64(refused) {
		t.Fatalf("stats %+v, stored %d refused %d", st, stored, refused)
	}
	if st.ArenaUsedBytes > st.ArenaBytes || st.ArenaBytes > budget {
		t.Fatalf("arena %d used of %d, budget %d", st.ArenaUsedBytes, st.ArenaBytes, budget)
	}
	if stored < budget/20 { // 8-byte records; block slack and tables cost the rest
		t.Fatalf("only %d peers fit in %d bytes", stored, budget)
	}
	// existing swarms keep working: a known peer re-announces, another leaves
	req.InfoHash, req.Peer = hashN(0), peer4(0, 6881)
	if _, err := s.Announce(&req, &buf); err != nil {
		t.Fatalf("known peer refused: %v", err)
	}
	req.Event = logic.EventStopped
	if _, err := s.Announce(&req, &buf); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<10 {
		t.Fatalf("Go heap grew by %d bytes while filling the store", grew)
	}
}

func TestTorrentTableFull(t *testing.T) {
	s, err := New(Config{MemoryBudget: 1 << 20, MaxTorrents: 100})
	if err != nil {
		t.Fatal(err)
	}
	var buf logic.PeerBuffer
	var refused error
	n := 0
	for i := 0; i < 1000; i++ {
		_, err := s.Announce(&logic.Request{InfoHash: hashN(i), Peer: peer4(1, 1)}, &buf)
		if err != nil {
			refused = err
			break
		}
		n++
	}
	if !errors.Is(refused, logic.ErrFull) || refused.Error() != "tracker is full: no room for another torrent" {
		t.Fatalf("after %d torrents: %v", n, refused)
	}
	if n < 50 || n > 100 {
		t.Fatalf("%d torrents fit a table for 100", n)
	}
}

func TestIndexStaysConsistentUnderChurn(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	live := map[int]bool{}
	for step := 0; step < 20000; step++ {
		i := (step * 7919) % 600
		if live[i] {
			announce(t, s, hashN(i), peer4(i, 1), false, logic.EventStopped, 0)
			delete(live, i)
		} else {
			announce(t, s, hashN(i), peer4(i, 1), false, logic.EventStarted, 0)
			live[i] = true
		}
	}
	for i := 0; i < 600; i++ {
		c, ok := s.Scrape(hashN(i))
		if ok != live[i] || (ok && c.Leechers != 1) {
			t.Fatalf("torrent %d: scrape %+v %v, live %v", i, c, ok, live[i])
		}
	}
	n := 0
	s.Range(func(logic.InfoHash, logic.Counts) bool { n++; return true })
	if n != len(live) || s.Stats().Torrents != len(live) {
		t.Fatalf("range saw %d, stats %d, want %d", n, s.Stats().Torrents, len(live))
	}
}

func TestConcurrentAnnounces(t *testing.T) {
	s, _ := newTestStore(t, 8<<20)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var buf logic.PeerBuffer
			for i := 0; i < 3000; i++ {
				req := logic.Request{InfoHash: hashN(i % 97), Peer: peer4(g*10000+i%500, 1), NumWant: 20, Families: logic.BothFamilies, Seeder: i%3 == 0}
				if i%50 == 49 {
					req.Event = logic.EventStopped
				}
				if _, err := s.Announce(&req, &buf); err != nil {
					t.Error(err)
					return
				}
				if i%100 == 0 {
					s.Sweep()
					s.Scrape(hashN(i % 97))
				}
			}
		}(g)
	}
	wg.Wait()
	st := s.Stats()
	sum := 0
	s.Range(func(_ logic.InfoHash, c logic.Counts) bool { sum += int(c.Seeders + c.Leechers); return true })
	if sum != st.Peers4 {
		t.Fatalf("per-torrent counts add to %d, stats say %d", sum, st.Peers4)
	}
}

func TestAnnounceAndScrapeAllocateNothing(t *testing.T) {
	s, _ := newTestStore(t, 4<<20)
	for i := 0; i < 200; i++ {
		announce(t, s, hashN(i%10), peer4(i, 1), i%2 == 0, logic.EventStarted, 0)
	}
	var buf logic.PeerBuffer
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		req := logic.Request{InfoHash: hashN(i % 10), Peer: peer4(i%300, 1), NumWant: 50, Families: logic.BothFamilies}
		if _, err := s.Announce(&req, &buf); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("announce allocates %v per call", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() { s.Scrape(hashN(i % 10)); i++ })
	if allocs != 0 {
		t.Fatalf("scrape allocates %v per call", allocs)
	}
}

func TestNewDownloadIsReportedOnce(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	h, p := hashN(8), peer4(1, 1)
	var got []bool
	for _, r := range []struct {
		seeder bool
		ev     logic.Event
	}{{false, logic.EventStarted}, {false, logic.EventCompleted}, {true, logic.EventCompleted}, {true, logic.EventCompleted}, {true, logic.EventNone}} {
		got = append(got, announce(t, s, h, p, r.seeder, r.ev, 0).NewDownload)
	}
	if want := []bool{false, false, true, false, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("NewDownload %v, want %v", got, want)
	}
	// a new peer arriving completed counts too
	if !announce(t, s, h, peer4(2, 1), true, logic.EventCompleted, 0).NewDownload {
		t.Fatal("new completed seeder not counted")
	}
	// a refusal's message is built once
	if n := testing.AllocsPerRun(100, func() { _ = errPeersFull.Error() }); n != 0 {
		t.Fatalf("FullError.Error allocates %v", n)
	}
}
