package swarm

import (
	"encoding/binary"
	"math/bits"
	"sync"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// A shard owns a slice of the torrent table: an open-addressing index of
// uint32 slot numbers (linear probing, at most half full) over densely
// allocated torrent slots. Slots are handed out from the low end first, and
// the index works in a power-of-two prefix of its allocation that doubles
// (by rebuilding it from the slots) as torrents arrive, so the memory a small
// tracker touches stays small although the whole table was allocated at
// start: hashing spreads entries over every page of whatever it uses.

type torrent struct {
	hash      logic.InfoHash
	lists     [2]peerList
	completed uint32
	touched   uint32 // minute of the last announce
}

type shard struct {
	mu        sync.Mutex
	index     []uint32 // slot+1, 0 = empty; only index[:live] is in use
	live      uint32   // a power of two
	slots     []torrent
	freeSlot  uint32 // head of the chain of released slots, slot+1
	nextSlot  uint32 // slots from here on were never used
	count     uint32
	peers     [2]uint32
	seeds     uint32
	completed uint64
	renew     [RenewMinutes]uint64 // re-announces by minutes since the previous one
	_         [64]byte
}

// freeMark in torrent.touched marks a released slot.
const freeMark = ^uint32(0)

// minIndex is the index prefix a shard starts with.
const minIndex = 16

// hashKey is a keyed hash over all 20 bytes of the info_hash, so that
// clients choosing info_hashes cannot pile them into one probe chain.
func hashKey(h *logic.InfoHash, k *[4]uint64) uint64 {
	a := binary.LittleEndian.Uint64(h[0:8]) ^ k[0]
	b := binary.LittleEndian.Uint64(h[8:16]) ^ k[1]
	c := uint64(binary.LittleEndian.Uint32(h[16:20])) ^ k[2]
	hi, lo := bits.Mul64(a, b)
	x := hi ^ lo
	hi, lo = bits.Mul64(x^c, k[3])
	return hi ^ lo
}

// find returns the index position of h, or the empty position to insert it.
func (s *shard) find(h *logic.InfoHash, home uint64) (pos uint32, found bool) {
	mask := s.live - 1
	pos = uint32(home) & mask
	for {
		e := s.index[pos]
		if e == 0 {
			return pos, false
		}
		if s.slots[e-1].hash == *h {
			return pos, true
		}
		pos = (pos + 1) & mask
	}
}

// add stores a new torrent, not in the index, at position pos (from find),
// if a slot is free and the index stays at most half full. It returns the
// torrent's index position, which moves if the index had to grow.
func (s *shard) add(pos uint32, h *logic.InfoHash, home uint64, now uint32, keys *[4]uint64) (uint32, bool) {
	if (s.count+1)*2 > s.live {
		if s.live == uint32(len(s.index)) {
			return 0, false
		}
		s.grow(keys)
		pos, _ = s.find(h, home)
	}
	var slot uint32
	switch {
	case s.freeSlot != 0:
		slot = s.freeSlot - 1
		s.freeSlot = s.slots[slot].completed // the chain link
	case int(s.nextSlot) < len(s.slots):
		slot = s.nextSlot
		s.nextSlot++
	default:
		return 0, false
	}
	s.slots[slot] = torrent{hash: *h, touched: now}
	s.index[pos] = slot + 1
	s.count++
	return pos, true
}

// grow doubles the index prefix and rebuilds it from the slots.
func (s *shard) grow(keys *[4]uint64) {
	s.live *= 2
	clear(s.index[:s.live])
	mask := s.live - 1
	for slot := uint32(0); slot < s.nextSlot; slot++ {
		t := &s.slots[slot]
		if t.touched == freeMark {
			continue
		}
		pos := uint32(hashKey(&t.hash, keys)) & mask
		for s.index[pos] != 0 {
			pos = (pos + 1) & mask
		}
		s.index[pos] = slot + 1
	}
}

// delete removes the torrent at index position pos, which has no peers left,
// and closes the gap by shifting later entries of its probe chain back.
func (s *shard) delete(pos uint32, keys *[4]uint64) {
	slot := s.index[pos] - 1
	s.completed -= uint64(s.slots[slot].completed)
	s.slots[slot] = torrent{completed: s.freeSlot, touched: freeMark}
	s.freeSlot = slot + 1
	s.count--
	mask := s.live - 1
	hole := pos
	for j := (pos + 1) & mask; s.index[j] != 0; j = (j + 1) & mask {
		home := uint32(hashKey(&s.slots[s.index[j]-1].hash, keys)) & mask
		// The entry at j may move to the hole unless its home lies
		// cyclically in (hole, j].
		if (j-home)&mask >= (j-hole)&mask {
			s.index[hole] = s.index[j]
			hole = j
		}
	}
	s.index[hole] = 0
}
