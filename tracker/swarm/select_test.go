package swarm

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// TestPickCoversAll checks pick over many sizes: no duplicates, never
// self, only leechers for seeders, and exactly min(want, eligible) results.
func TestPickCoversAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for n := 1; n < 70; n++ {
		recs := make([]uint32, 2*n)
		seeds := 0
		for i := 0; i < n; i++ {
			recs[2*i] = uint32(i)
			recs[2*i+1] = uint32(i) << 16
			if rng.IntN(3) == 0 {
				recs[2*i+1] |= flagSeeder
				seeds++
			}
		}
		for want := 0; want <= n+2; want++ {
			for _, leechersOnly := range []bool{false, true} {
				self := rng.IntN(n+1) - 1
				elig := 0
				for i := 0; i < n; i++ {
					if i != self && (!leechersOnly || recs[2*i+1]&flagSeeder == 0) {
						elig++
					}
				}
				for r := 0; r < 5; r++ {
					out := pick(nil, recs, 2, want, self, leechersOnly)
					got := map[uint32]bool{}
					for b := out; len(b) > 0; b = b[6:] {
						i := binary.BigEndian.Uint32(b)
						if got[i] || int(i) == self || (leechersOnly && recs[2*i+1]&flagSeeder != 0) {
							t.Fatalf("n %d want %d: bad pick %d (self %d)", n, want, i, self)
						}
						got[i] = true
					}
					if len(got) != min(want, elig) {
						t.Fatalf("n %d want %d elig %d self %d leechersOnly %v: got %d", n, want, elig, self, leechersOnly, len(got))
					}
				}
			}
		}
	}
}

// TestSplitWantQuarterPerFamily: splitWant promises each family with
// peers at least a quarter of numwant; only IPv4 used to get the floor, so a
// dual-stack leecher asking for 50 in a swarm of 1000 IPv4 and 10 IPv6 peers
// got one IPv6 peer.
func TestSplitWantQuarterPerFamily(t *testing.T) {
	for _, c := range []struct{ want, e4, e6 int }{{50, 1000, 10}, {50, 10, 1000}, {200, 5000, 60}} {
		q4, q6 := splitWant(c.want, c.e4, c.e6)
		if q4+q6 != min(c.want, c.e4+c.e6) {
			t.Fatalf("splitWant%v = %d,%d: wrong total", c, q4, q6)
		}
		if q4 < min(c.e4, c.want/4) || q6 < min(c.e6, c.want/4) {
			t.Errorf("splitWant(%d, %d, %d) = %d, %d: a family gets less than its quarter", c.want, c.e4, c.e6, q4, q6)
		}
	}
	s, _ := newTestStore(t, 1<<20)
	h := hashN(2)
	for i := 0; i < 1000; i++ {
		announce(t, s, h, peer4(i, 1), false, logic.EventStarted, 0)
	}
	for i := 0; i < 10; i++ {
		announce(t, s, h, peer6(i, 1), false, logic.EventStarted, 0)
	}
	res := announce(t, s, h, peer4(5000, 1), false, logic.EventStarted, 50)
	if n6 := len(res.Peers6) / logic.CompactV6Size; n6 < 10 {
		t.Errorf("dual-stack reply of 50 holds %d of the 10 IPv6 peers", n6)
	}
}
