package swarm

import (
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// TestExtendStopsAtLargestBlock: a region at a high power of two may not
// grow in place past the largest block (2^maxOrder units): released whole,
// it would be a block of an order the free lists do not have (found by
// review: index out of range [21], in the sweep goroutine).
func TestExtendStopsAtLargestBlock(t *testing.T) {
	a := newArena(1 << 22)
	max := uint32(1) << a.maxOrder
	u1, ok1 := a.allocRegion(max)
	u2, ok2 := a.allocRegion(max)
	if !ok1 || !ok2 || u2&-u2 < 2*max {
		t.Skipf("layout %#x %#x does not exercise the case", u1, u2)
	}
	a.releaseRange(u1, 0, max)
	if a.extend(u2, max, 2*max) {
		t.Fatal("extend grew a region past the largest block")
	}
	a.releaseRange(u2, 0, max)
	if a.usedUnits() != 0 {
		t.Fatalf("%d units still used", a.usedUnits())
	}
	// releaseRange splits a span wider than the largest block too.
	u, ok := a.allocRegion(max)
	if !ok {
		t.Fatal("no region")
	}
	a.releaseRange(u, 0, max)
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
