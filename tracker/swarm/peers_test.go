package swarm

import (
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// TestGrowUsesRoomWhenNearlyFull: peerList.grow used to ask for a quarter
// more units even when that crosses into the next power of two, and gives up
// when no block of that order is free. Its comment says it "fails only when
// the arena has no room", but with the minimum budget one swarm was refused
// at 1782 IPv4 peers while the arena was 27% used and held a free block that
// fits n+1 records (room for 2048).
func TestGrowUsesRoomWhenNearlyFull(t *testing.T) {
	s, _ := newTestStore(t, 64<<10)
	var buf logic.PeerBuffer
	h := hashN(1)
	n := 0
	for ; ; n++ {
		if _, err := s.Announce(&logic.Request{InfoHash: h, Peer: peer4(n, 1)}, &buf); err != nil {
			break
		}
	}
	sh, home := s.shardFor(&h)
	pos, _ := sh.find(&h, home)
	l := &sh.slots[sh.index[pos]-1].lists[fam4]
	need := unitsFor(l.n+1, 2)
	if k := orderFor(need); k <= s.arena.maxOrder && arenaHasBlock(s.arena, k) {
		t.Fatalf("peer %d refused, yet one more record needs %d units and a free block of order %d exists (arena %d/%d units used)",
			n+1, need, k, s.arena.used, s.arena.units)
	}
}
