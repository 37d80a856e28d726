package swarm

import (
	"context"
	"time"
)

// Expiry is incremental: each Sweep cleans one shard under its own lock, and
// Run sweeps every shard once per SweepPeriod, so no pause ever covers the
// whole store.

// SweepPeriod is how long a full pass over all shards takes under Run.
const SweepPeriod = time.Minute

// Run keeps the clock and the expiry going until ctx ends.
func (s *Store) Run(ctx context.Context) {
	every := SweepPeriod / time.Duration(len(s.shards))
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.Tick()
			s.Sweep()
		}
	}
}

// Sweep expires stale peers and torrents in the next shard.
func (s *Store) Sweep() {
	i := (s.sweepShard.Add(1) - 1) % uint32(len(s.shards))
	s.sweepShardAt(&s.shards[i])
}

// SweepAll runs Sweep over every shard (tests, and before a state dump).
func (s *Store) SweepAll() {
	for range s.shards {
		s.Sweep()
	}
}

func (s *Store) sweepShardAt(sh *shard) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now.get() // after the lock: no announce in this shard is newer
	peerTTL := s.peerTTL.Load()
	// Walk the slots, not the index: deleting shifts index entries but
	// never moves a slot.
	for slot := uint32(0); slot < sh.nextSlot; slot++ {
		t := &sh.slots[slot]
		if t.touched == freeMark {
			continue
		}
		for f := range t.lists {
			gone, seeds := t.lists[f].expire(s.arena, recordWords[f], now, peerTTL)
			sh.peers[f] -= uint32(gone)
			sh.seeds -= uint32(seeds)
		}
		if t.lists[0].n != 0 || t.lists[1].n != 0 {
			continue
		}
		ttl := peerTTL
		if t.completed > 0 {
			ttl = s.torrentTTL
		}
		if now-t.touched >= ttl {
			pos, _ := sh.find(&t.hash, hashKey(&t.hash, &s.keys))
			sh.delete(pos, &s.keys)
		}
	}
}
