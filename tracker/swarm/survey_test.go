package swarm

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

func TestRenewals(t *testing.T) {
	s, clk := newTestStore(t, 1<<20)
	h := hashN(1)
	announce(t, s, h, peer4(1, 1), false, logic.EventStarted, 0)
	announce(t, s, h, peer6(1, 1), false, logic.EventStarted, 0)
	clk.Advance(3 * time.Minute)
	s.Tick()
	announce(t, s, h, peer4(1, 1), false, logic.EventNone, 0) // renewal after 3 min
	announce(t, s, h, peer4(2, 1), false, logic.EventStarted, 0)
	clk.Advance(time.Minute)
	s.Tick()
	announce(t, s, h, peer4(1, 1), false, logic.EventNone, 0) // after 1 min
	announce(t, s, h, peer6(1, 1), false, logic.EventNone, 0) // after 4 min
	clk.Advance(50 * time.Minute)
	s.Tick()
	announce(t, s, h, peer4(2, 1), true, logic.EventCompleted, 0) // 50 min: past the histogram (and expired)
	r := s.Renewals()
	var want [RenewMinutes]uint64
	want[1], want[3], want[4] = 1, 1, 1
	if r != want {
		t.Fatalf("renewals %v, want %v", r, want)
	}
}

func TestRangeAddrs(t *testing.T) {
	s, _ := newTestStore(t, 1<<20)
	want := map[netip.Addr]int{}
	for i := 0; i < 300; i++ {
		p4, p6 := peer4(i%7, uint16(i)), peer6(i%5, uint16(i))
		announce(t, s, hashN(i%11), p4, false, logic.EventStarted, 0)
		announce(t, s, hashN(i%13), p6, false, logic.EventStarted, 0)
		want[p4.Addr()]++
		want[p6.Addr()]++
	}
	got := map[netip.Addr]int{}
	s.RangeAddrs(func(a netip.Addr) { got[a]++ })
	if len(got) != len(want) {
		t.Fatalf("%d addresses, want %d", len(got), len(want))
	}
	for a, n := range want {
		if got[a] != n {
			t.Errorf("%v: %d peers, want %d", a, got[a], n)
		}
	}
}
