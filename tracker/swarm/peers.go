package swarm

import (
	"encoding/binary"
	"net/netip"
)

// A peer record is a few uint32 words in the arena: the address (one word for
// IPv4, four for IPv6) followed by one word holding the port in its high half
// and the peer's state in its low half. 8 bytes per IPv4 peer, 20 per IPv6
// peer, as in the reference. Lists are kept sorted by address and port so
// that a peer is found by binary search.

const (
	fam4 = 0
	fam6 = 1

	seenBits      = 13 // minute of the last announce, modulo 2^13 (5.7 days)
	seenMask      = 1<<seenBits - 1
	flagSeeder    = 1 << 13
	flagCompleted = 1 << 14
	stateMask     = 0xffff
)

var recordWords = [2]int{2, 5}

// peerKey is a peer's address and port laid out as a record, state zero.
type peerKey struct {
	w   [5]uint32
	fam int
}

func makeKey(ap netip.AddrPort) (peerKey, bool) {
	var k peerKey
	a := ap.Addr().Unmap()
	port := uint32(ap.Port()) << 16
	switch {
	case a.Is4():
		b := a.As4()
		k.w[0] = binary.BigEndian.Uint32(b[:])
		k.w[1] = port
		k.fam = fam4
	case a.Is6():
		b := a.As16()
		for i := 0; i < 4; i++ {
			k.w[i] = binary.BigEndian.Uint32(b[4*i:])
		}
		k.w[4] = port
		k.fam = fam6
	default:
		return k, false
	}
	return k, true
}

// peerList is one family's peers of a torrent.
type peerList struct {
	off   uint32 // unit offset of the region in the arena
	units uint32 // region size; 0 when the list has no region
	n     uint32 // records in use
	seeds uint32
}

func (l *peerList) capacity(w int) uint32 { return l.units * unitWords / uint32(w) }

// unitsFor returns the units that hold n records of w words.
func unitsFor(n uint32, w int) uint32 { return (n*uint32(w) + unitWords - 1) / unitWords }

// records returns the list's records; the shard lock guards them.
func (l *peerList) records(a *arena, w int) []uint32 {
	base := int(l.off) * unitWords
	return a.words[base : base+int(l.n)*w]
}

// compareRecord orders a record against a key: address words, then port.
func compareRecord(rec []uint32, k *peerKey, w int) int {
	for i := 0; i < w-1; i++ {
		if rec[i] != k.w[i] {
			if rec[i] < k.w[i] {
				return -1
			}
			return 1
		}
	}
	rp, kp := rec[w-1]>>16, k.w[w-1]>>16
	switch {
	case rp < kp:
		return -1
	case rp > kp:
		return 1
	}
	return 0
}

// search returns the index of the key in recs, or where it would go.
func search(recs []uint32, k *peerKey, w int) (int, bool) {
	lo, hi := 0, len(recs)/w
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareRecord(recs[m*w:m*w+w], k, w) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(recs)/w && compareRecord(recs[lo*w:lo*w+w], k, w) == 0 {
		return lo, true
	}
	return lo, false
}

// grow makes the list's region a quarter larger (at least one more record),
// in place when it can, else by moving it: the copies stay amortised O(1)
// per insert while a list wastes at most a fifth of its region. It fails
// only when the arena has no room; the list is then unchanged.
func (l *peerList) grow(a *arena, w int) bool {
	need := unitsFor(l.n+1, w)
	units := max(l.units+l.units/4, need)
	if l.units != 0 {
		// In place if the units after the list are free; when nearly
		// full, as much as one more record needs.
		if a.extend(l.off, l.units, units) {
			l.units = units
			return true
		}
		if units > need && a.extend(l.off, l.units, need) {
			l.units = need
			return true
		}
	}
	off, ok := a.allocRegion(units)
	if !ok && units > need { // nearly full: take just what one more needs
		units = need
		off, ok = a.allocRegion(units)
	}
	if !ok {
		return false
	}
	if l.units != 0 {
		old := l.records(a, w)
		base := int(off) * unitWords
		copy(a.words[base:base+len(old)], old)
		a.releaseRange(l.off, 0, l.units)
	}
	l.off, l.units = off, units
	return true
}

// insert puts a record at index pos, growing the region when it is full.
func (l *peerList) insert(a *arena, w int, pos int, k *peerKey, state uint32) bool {
	if l.n == l.capacity(w) && !l.grow(a, w) {
		return false
	}
	l.n++
	recs := l.records(a, w)
	copy(recs[(pos+1)*w:], recs[pos*w:len(recs)-w])
	copy(recs[pos*w:pos*w+w], k.w[:w])
	recs[pos*w+w-1] |= state
	return true
}

// remove deletes the record at index pos.
func (l *peerList) remove(a *arena, w int, pos int) {
	recs := l.records(a, w)
	if recs[pos*w+w-1]&flagSeeder != 0 {
		l.seeds--
	}
	copy(recs[pos*w:], recs[(pos+1)*w:])
	l.n--
	l.shrink(a, w)
}

// shrink gives back the region's tail, in place, once the list uses half of
// it or less, keeping a quarter to grow into.
func (l *peerList) shrink(a *arena, w int) {
	if l.n == 0 {
		if l.units != 0 {
			a.releaseRange(l.off, 0, l.units)
		}
		l.off, l.units = 0, 0
		return
	}
	if l.n*2 > l.capacity(w) {
		return
	}
	if keep := unitsFor(l.n+l.n/4+1, w); keep < l.units {
		a.releaseRange(l.off, keep, l.units)
		l.units = keep
	}
}

// expire drops records not seen for timeout minutes and returns how many
// peers and how many seeders went.
func (l *peerList) expire(a *arena, w int, now uint32, timeout uint32) (dropped, seeds int) {
	if l.n == 0 {
		return 0, 0
	}
	recs := l.records(a, w)
	kept := 0
	for i := 0; i < len(recs); i += w {
		st := recs[i+w-1]
		if (now-st&seenMask)&seenMask >= timeout {
			if st&flagSeeder != 0 {
				l.seeds--
				seeds++
			}
			continue
		}
		if kept != i {
			copy(recs[kept:kept+w], recs[i:i+w])
		}
		kept += w
	}
	dropped = int(l.n) - kept/w
	l.n = uint32(kept / w)
	if dropped > 0 {
		l.shrink(a, w)
	}
	return dropped, seeds
}

// appendCompact appends the record as a BEP 23 / BEP 7 compact peer.
func appendCompact(dst []byte, rec []uint32, w int) []byte {
	for i := 0; i < w-1; i++ {
		dst = binary.BigEndian.AppendUint32(dst, rec[i])
	}
	return binary.BigEndian.AppendUint16(dst, uint16(rec[w-1]>>16))
}
