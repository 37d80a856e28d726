package swarm

import (
	"encoding/binary"
	"net/netip"
)

// RenewMinutes is the length of the re-announce histogram: one bucket per
// minute of the reference's 45-minute peer timeout.
const RenewMinutes = 45

// Renewals returns, per minute m < RenewMinutes, how many announces came
// from a peer already known whose previous announce was m minutes earlier:
// the reference's /stats?mode=renew, which shows how clients honour the
// announce interval.
func (s *Store) Renewals() [RenewMinutes]uint64 {
	var sum [RenewMinutes]uint64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for m, n := range sh.renew {
			sum[m] += n
		}
		sh.mu.Unlock()
	}
	return sum
}

// countRenewal records a known peer's re-announce; old is its state word.
// The shard is locked.
func (sh *shard) countRenewal(old, now uint32) {
	if age := (now - old&seenMask) & seenMask; age < RenewMinutes {
		sh.renew[age]++
	}
}

// RangeAddrs calls fn with the address of every stored peer, one shard
// locked at a time: fn must be quick and must not call the store. It is for
// surveys (/stats?mode=s24s), not for serving announces.
func (s *Store) RangeAddrs(fn func(netip.Addr)) {
	var b [16]byte
	s.eachTorrent(func(t *torrent) bool {
		recs := t.lists[fam4].records(s.arena, 2)
		for r := 0; r < len(recs); r += 2 {
			binary.BigEndian.PutUint32(b[:4], recs[r])
			fn(netip.AddrFrom4([4]byte(b[:4])))
		}
		recs = t.lists[fam6].records(s.arena, 5)
		for r := 0; r < len(recs); r += 5 {
			for j := 0; j < 4; j++ {
				binary.BigEndian.PutUint32(b[4*j:], recs[r+j])
			}
			fn(netip.AddrFrom16(b))
		}
		return true
	})
}
