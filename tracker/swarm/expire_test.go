package swarm

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// TestSweepDeletesWrappedChains puts probe chains across the end of
// the index and deletes their heads in the sweep: every survivor must stay
// findable and every expired torrent must go in one SweepAll.
func TestSweepDeletesWrappedChains(t *testing.T) {
	for seed := 0; seed < 200; seed++ {
		clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		s, err := New(Config{MemoryBudget: 64 << 10, MaxTorrents: 4, PeerTimeout: time.Minute, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		var buf logic.PeerBuffer
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		var keep []logic.InfoHash
		var hs []logic.InfoHash
		for i := 0; i < 4; i++ {
			h := hashN(seed*10 + i)
			hs = append(hs, h)
			if _, err := s.Announce(&logic.Request{InfoHash: h, Peer: peer4(i, 1)}, &buf); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(time.Minute)
		s.Tick()
		for _, h := range hs { // re-announce some: they survive the sweep
			if rng.IntN(2) == 0 {
				keep = append(keep, h)
				s.Announce(&logic.Request{InfoHash: h, Peer: peer4(9, 1)}, &buf)
			}
		}
		s.SweepAll()
		if err := checkInvariants(s); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Torrents != len(keep) {
			t.Fatalf("seed %d: %d torrents after sweep, want %d", seed, st.Torrents, len(keep))
		}
		for _, h := range keep {
			if c, ok := s.Scrape(h); !ok || c.Leechers != 1 {
				t.Fatalf("seed %d: survivor lost: %+v %v", seed, c, ok)
			}
		}
	}
}

// TestHugeSwarmExpires: one torrent's IPv6 list grows to the largest block
// in a large arena, and then every peer expires at once.
func TestHugeSwarmExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 64 MiB arena")
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := New(Config{MemoryBudget: 1 << 20, MaxTorrents: 16, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.arena = newArena(1 << 22)
	var buf logic.PeerBuffer
	a, x := hashN(1), hashN(2)
	ann := func(h logic.InfoHash, i int, ev logic.Event) error {
		_, err := s.Announce(&logic.Request{InfoHash: h, Peer: peer6(i, 1), Event: ev}, &buf)
		return err
	}
	ann(a, 0, logic.EventNone)
	ann(x, 0, logic.EventNone) // right after a's first region
	n := 1
	for ; n < 1<<20/5*4; n++ {
		if err := ann(a, n, logic.EventNone); err != nil {
			t.Fatal(n, err)
		}
	}
	ann(x, 0, logic.EventStopped) // x's block merges back behind a's
	for ; n < 1<<22; n++ {
		if err := ann(a, n, logic.EventNone); err != nil {
			break // the list is at its largest
		}
	}
	clk.Advance(time.Hour)
	s.Tick()
	s.SweepAll()
	if st := s.Stats(); st.Peers6 != 0 || st.ArenaUsedBytes != 0 {
		t.Fatalf("after expiry: %d peers, %d arena bytes used", st.Peers6, st.ArenaUsedBytes)
	}
}
