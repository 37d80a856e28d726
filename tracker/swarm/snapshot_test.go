package swarm

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

type snapItem struct {
	t TorrentRecord
	p PeerRecord
}

// walk collects a whole Snapshot walk in pieces of max records and checks
// that no piece goes over max.
func walk(t *testing.T, s *Store, max int) []string {
	t.Helper()
	var out []string
	var c SnapshotCursor
	var cur logic.InfoHash
	for more, pieces := true, 0; more; pieces++ {
		n := 0
		more = s.Snapshot(&c, max,
			func(r *TorrentRecord) {
				n++
				cur = r.InfoHash
				out = append(out, fmt.Sprintf("T %x age %d completed %d", r.InfoHash[:4], r.Age, r.Completed))
			},
			func(r *PeerRecord) {
				n++
				out = append(out, fmt.Sprintf("P %x %v age %d seeder %v completed %v", cur[:4], r.Peer, r.Age, r.Seeder, r.Completed))
			})
		if n > max {
			t.Fatalf("a piece of %d records, max %d", n, max)
		}
		if pieces > 100000 {
			t.Fatal("walk does not end")
		}
	}
	return out
}

// TestSnapshotInPiecesSeesEverything: a walk one record at a time reports
// what one big piece does, in the same order; restoring it into a new store
// gives the same walk, scrape counts and a consistent store.
func TestSnapshotInPiecesSeesEverything(t *testing.T) {
	s, clk := newTestStore(t, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		h := hashN(rng.IntN(40))
		p := peer4(rng.IntN(60), 1)
		if rng.IntN(3) == 0 {
			p = peer6(rng.IntN(60), 2)
		}
		ev := logic.EventNone
		if rng.IntN(5) == 0 {
			ev = logic.EventCompleted
		}
		announce(t, s, h, p, ev == logic.EventCompleted || rng.IntN(4) == 0, ev, 0)
		if i%50 == 49 {
			clk.Advance(3 * time.Minute)
			s.Tick()
		}
	}
	whole := walk(t, s, 1<<30)
	if len(whole) < 100 {
		t.Fatalf("only %d records", len(whole))
	}
	for _, max := range []int{1, 2, 7} {
		if got := walk(t, s, max); fmt.Sprint(got) != fmt.Sprint(whole) {
			t.Fatalf("walk in pieces of %d differs", max)
		}
	}

	r, _ := newTestStore(t, 1<<20)
	var c SnapshotCursor
	var cur logic.InfoHash
	for more := true; more; {
		var items []snapItem
		more = s.Snapshot(&c, 5, func(tr *TorrentRecord) { items = append(items, snapItem{t: *tr}) },
			func(pr *PeerRecord) { items = append(items, snapItem{p: *pr}) })
		for _, it := range items {
			if it.p.Peer.IsValid() {
				if err := r.RestorePeer(cur, &it.p); err != nil {
					t.Fatal(err)
				}
				continue
			}
			cur = it.t.InfoHash
			if err := r.RestoreTorrent(&it.t); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := checkInvariants(r); err != nil {
		t.Fatal(err)
	}
	sorted := func(v []string) string { v = append([]string(nil), v...); sort.Strings(v); return fmt.Sprint(v) }
	if a, b := sorted(walk(t, r, 1<<30)), sorted(whole); a != b {
		t.Fatalf("restored store walks differently:\n%s\n%s", a, b)
	}
	if a, b := s.Stats(), r.Stats(); a.Peers4 != b.Peers4 || a.Peers6 != b.Peers6 || a.Seeders != b.Seeders || a.Completed != b.Completed || a.Torrents != b.Torrents {
		t.Fatalf("stats %+v, restored %+v", a, b)
	}
	// A second load changes nothing.
	c = SnapshotCursor{}
	for s.Snapshot(&c, 1<<30, func(tr *TorrentRecord) { cur = tr.InfoHash; r.RestoreTorrent(tr) },
		func(pr *PeerRecord) { r.RestorePeer(cur, pr) }) {
	}
	if a, b := s.Stats(), r.Stats(); a.Peers4 != b.Peers4 || a.Seeders != b.Seeders || a.Completed != b.Completed {
		t.Fatalf("after a second load: stats %+v, restored %+v", a, b)
	}
}

// TestRestorePeerTakesTheNewerState: a dumped peer older than the stored
// one changes nothing; a newer one takes over its seeder flag and age, and
// the seeder counts follow.
func TestRestorePeerTakesTheNewerState(t *testing.T) {
	s, clk := newTestStore(t, 1<<20)
	h, p := hashN(1), peer4(1, 1)
	clk.Advance(20 * time.Minute)
	s.Tick()
	announce(t, s, h, p, false, logic.EventNone, 0)
	if err := s.RestorePeer(h, &PeerRecord{Peer: p, Seeder: true, Age: 5}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Scrape(h); c.Seeders != 0 {
		t.Fatalf("an older dumped state replaced a newer announce: %+v", c)
	}
	clk.Advance(10 * time.Minute)
	s.Tick()
	if err := s.RestorePeer(h, &PeerRecord{Peer: p, Seeder: true, Age: 2}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Scrape(h); c.Seeders != 1 || c.Leechers != 0 {
		t.Fatalf("a newer dumped state did not apply: %+v", c)
	}
	if err := s.RestorePeer(h, &PeerRecord{Peer: p, Seeder: false, Age: 1}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Scrape(h); c.Seeders != 0 || c.Leechers != 1 {
		t.Fatalf("a newer dumped leecher state did not apply: %+v", c)
	}
	if err := checkInvariants(s); err != nil {
		t.Fatal(err)
	}
	if err := s.RestorePeer(h, &PeerRecord{Peer: peer4(2, 1), Age: 45}); err != ErrExpired {
		t.Fatalf("a peer at the 45-minute timeout: %v", err)
	}
	if err := s.RestorePeer(hashN(99), &PeerRecord{Peer: peer4(2, 1)}); err == nil {
		t.Fatal("a peer of an unknown torrent was restored")
	}
}

// TestSnapshotBesideAnnounces: walking in small pieces while other
// goroutines announce and sweep neither races nor breaks the store.
func TestSnapshotBesideAnnounces(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var buf logic.PeerBuffer
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for i := 0; i < 200000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ev := logic.EventNone
				if rng.IntN(4) == 0 {
					ev = logic.EventStopped
				}
				s.Announce(&logic.Request{InfoHash: hashN(rng.IntN(30)), Peer: peer4(rng.IntN(300), 1), Event: ev, NumWant: 5, Families: logic.V4}, &buf)
			}
		}(g)
	}
	deadline := time.Now().Add(2 * time.Second)
	for round := 0; round < 50 && time.Now().Before(deadline); round++ {
		var c SnapshotCursor
		for steps := 0; s.Snapshot(&c, 3, func(*TorrentRecord) {}, func(p *PeerRecord) {
			if !p.Peer.Addr().Is4() {
				t.Errorf("peer %v", p.Peer)
			}
		}); steps++ {
			if steps > 1e6 {
				t.Fatal("walk does not end")
			}
		}
		s.Sweep()
	}
	close(stop)
	wg.Wait()
	if err := checkInvariants(s); err != nil {
		t.Fatal(err)
	}
}

// TestSetPeerTimeoutAppliesToStoredPeers: a shorter peer timeout set while
// running expires peers already stored at the next sweep.
func TestSetPeerTimeoutAppliesToStoredPeers(t *testing.T) {
	s, clk := newTestStore(t, 1<<20)
	announce(t, s, hashN(1), peer4(1, 1), false, logic.EventNone, 0)
	clk.Advance(20 * time.Minute)
	s.Tick()
	s.SweepAll()
	if c, _ := s.Scrape(hashN(1)); c.Leechers != 1 {
		t.Fatalf("peer gone before the 45-minute timeout: %+v", c)
	}
	if err := s.SetPeerTimeout(15 * time.Minute); err != nil {
		t.Fatal(err)
	}
	s.SweepAll()
	if _, ok := s.Scrape(hashN(1)); ok {
		t.Fatal("a 20-minute-old peer outlived a 15-minute timeout")
	}
	if s.SetPeerTimeout(time.Second) == nil || s.SetPeerTimeout(4*24*time.Hour) == nil {
		t.Fatal("out-of-range peer timeouts accepted")
	}
}
