package swarm

// checkInvariants is the store's deep structural checker, used by the
// model, random and concurrency tests.

import (
	"fmt"
)

// checkInvariants verifies every invariant of the store's internals: the buddy
// arena's free lists and head bits, that regions and free blocks tile the
// arena exactly, the open-addressing index, the free-slot chain, sorted peer
// lists, slack bounds, and all counters. It must run with no concurrent use.
func checkInvariants(s *Store) error {
	a := s.arena
	const (
		none = iota
		isFree
		isUsed
	)
	owner := make([]uint8, a.units)
	head := make([]bool, a.units)
	var freeUnits uint32
	for k := 0; k <= maxOrderCap; k++ {
		if k > int(a.maxOrder) {
			if a.free[k] != 0 {
				return fmt.Errorf("free list of order %d above maxOrder %d", k, a.maxOrder)
			}
			continue
		}
		prev, steps := uint32(0), uint32(0)
		for e := a.free[k]; e != 0; e = a.words[(e-1)*unitWords] {
			u := e - 1
			size := uint32(1) << k
			if u >= a.units || u+size > a.units {
				return fmt.Errorf("free block %d/%d outside arena of %d", u, k, a.units)
			}
			if u%size != 0 {
				return fmt.Errorf("free block %d/%d misaligned", u, k)
			}
			if a.metaOf(u) != freeBit|uint8(k) {
				return fmt.Errorf("free block %d/%d has meta %#x", u, k, a.metaOf(u))
			}
			if a.words[u*unitWords+1] != prev {
				return fmt.Errorf("free block %d/%d prev link %d, want %d", u, k, a.words[u*unitWords+1], prev)
			}
			for x := u; x < u+size; x++ {
				if owner[x] != none {
					return fmt.Errorf("unit %d in two free blocks", x)
				}
				owner[x] = isFree
			}
			head[u] = true
			freeUnits += size
			prev = e
			if steps++; steps > a.units {
				return fmt.Errorf("free list %d has a cycle", k)
			}
		}
	}
	for u := range head {
		if m := a.metaOf(uint32(u)); m&freeBit != 0 && !head[u] {
			return fmt.Errorf("unit %d has free meta %#x but heads no listed free block", u, m)
		}
	}
	for u := range head {
		if !head[u] {
			continue
		}
		k := a.metaOf(uint32(u)) &^ freeBit
		if k >= a.maxOrder {
			continue
		}
		if b := uint32(u) ^ 1<<k; b < a.units && a.metaOf(b) == freeBit|k {
			return fmt.Errorf("free buddies %d and %d of order %d not merged", u, b, k)
		}
	}

	var regionUnits uint32
	var totalPeers [2]int
	for si := range s.shards {
		sh := &s.shards[si]
		if sh.live == 0 || sh.live&(sh.live-1) != 0 || int(sh.live) > len(sh.index) {
			return fmt.Errorf("shard %d: index prefix %d of %d", si, sh.live, len(sh.index))
		}
		mask := sh.live - 1
		inIndex := make(map[uint32]bool)
		var count uint32
		var peers [2]uint32
		var seeds uint32
		var completed uint64
		for pos, e := range sh.index {
			if e == 0 {
				continue
			}
			if uint32(pos) >= sh.live {
				return fmt.Errorf("shard %d: entry at %d beyond the index prefix %d", si, pos, sh.live)
			}
			slot := e - 1
			if slot >= sh.nextSlot || int(slot) >= len(sh.slots) {
				return fmt.Errorf("shard %d pos %d: slot %d beyond nextSlot %d", si, pos, slot, sh.nextSlot)
			}
			if inIndex[slot] {
				return fmt.Errorf("shard %d: slot %d indexed twice", si, slot)
			}
			inIndex[slot] = true
			count++
			t := &sh.slots[slot]
			if t.touched == freeMark {
				return fmt.Errorf("shard %d: indexed slot %d marked free", si, slot)
			}
			completed += uint64(t.completed)
			k := hashKey(&t.hash, &s.keys)
			if got, _ := s.shardFor(&t.hash); got != sh {
				return fmt.Errorf("torrent %x in the wrong shard", t.hash[:4])
			}
			p, ok := sh.find(&t.hash, k)
			if !ok || p != uint32(pos) {
				return fmt.Errorf("shard %d: torrent %x at pos %d, find says %d %v (home %d)", si, t.hash[:4], pos, p, ok, uint32(k)&mask)
			}
			for f := range t.lists {
				l := &t.lists[f]
				w := recordWords[f]
				if l.n > l.capacity(w) {
					return fmt.Errorf("list n %d above capacity %d", l.n, l.capacity(w))
				}
				if (l.n == 0) != (l.units == 0) {
					return fmt.Errorf("list n %d units %d: empty lists must hold no region and vice versa", l.n, l.units)
				}
				if l.n > 0 && l.n*2 <= l.capacity(w) && l.units > unitsFor(l.n+l.n/4+1, w) {
					return fmt.Errorf("list n %d keeps %d units (capacity %d): not shrunk", l.n, l.units, l.capacity(w))
				}
				for x := l.off; x < l.off+l.units; x++ {
					if x >= a.units {
						return fmt.Errorf("region %d+%d beyond arena", l.off, l.units)
					}
					if owner[x] != none {
						return fmt.Errorf("region %d+%d overlaps unit %d (owner %d)", l.off, l.units, x, owner[x])
					}
					owner[x] = isUsed
				}
				regionUnits += l.units
				recs := l.records(a, w)
				var ls uint32
				for i := 0; i < int(l.n); i++ {
					st := recs[i*w+w-1]
					if st&0x8000 != 0 {
						return fmt.Errorf("record %d has stray state bit 15", i)
					}
					if st&flagSeeder != 0 {
						ls++
					}
					if i > 0 {
						var key peerKey
						copy(key.w[:w], recs[i*w:i*w+w])
						if compareRecord(recs[(i-1)*w:i*w], &key, w) >= 0 {
							return fmt.Errorf("records %d and %d out of order", i-1, i)
						}
					}
				}
				if ls != l.seeds {
					return fmt.Errorf("list seeds %d, flagged %d", l.seeds, ls)
				}
				peers[f] += l.n
				seeds += ls
			}
		}
		if count != sh.count {
			return fmt.Errorf("shard %d count %d, index holds %d", si, sh.count, count)
		}
		if count*2 > sh.live {
			return fmt.Errorf("shard %d index prefix %d more than half full (%d)", si, sh.live, count)
		}
		if completed != sh.completed {
			return fmt.Errorf("shard %d completed %d, torrents hold %d", si, sh.completed, completed)
		}
		if peers != sh.peers || seeds != sh.seeds {
			return fmt.Errorf("shard %d counters peers %v seeds %d, lists hold %v / %d", si, sh.peers, sh.seeds, peers, seeds)
		}
		chain := uint32(0)
		seen := make(map[uint32]bool)
		for f := sh.freeSlot; f != 0; f = sh.slots[f-1].completed {
			slot := f - 1
			if slot >= sh.nextSlot || inIndex[slot] || seen[slot] {
				return fmt.Errorf("shard %d: bad free slot %d in chain", si, slot)
			}
			seen[slot] = true
			t := &sh.slots[slot]
			if t.touched != freeMark {
				return fmt.Errorf("shard %d: free slot %d not marked free", si, slot)
			}
			if t.lists[0] != (peerList{}) || t.lists[1] != (peerList{}) {
				return fmt.Errorf("shard %d: free slot %d still holds lists", si, slot)
			}
			if chain++; chain > uint32(len(sh.slots)) {
				return fmt.Errorf("shard %d: free chain cycles", si)
			}
		}
		if chain+count != sh.nextSlot {
			return fmt.Errorf("shard %d: %d free + %d used slots != nextSlot %d", si, chain, count, sh.nextSlot)
		}
		totalPeers[0] += int(peers[0])
		totalPeers[1] += int(peers[1])
	}
	if got := a.used; got != regionUnits {
		return fmt.Errorf("arena used %d, regions hold %d", got, regionUnits)
	}
	if freeUnits+regionUnits != a.units {
		return fmt.Errorf("free %d + regions %d != arena %d (leak)", freeUnits, regionUnits, a.units)
	}
	return nil
}
