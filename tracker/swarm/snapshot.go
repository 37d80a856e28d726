package swarm

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// A state dump walks the store a bounded piece at a time, so that saving a
// large store neither holds a shard lock for long nor needs memory in
// proportion to the store: Snapshot visits at most a given number of
// records with one shard locked, and a SnapshotCursor says where to go on.
// The walk is not atomic: announces between two pieces may be seen or not,
// and a peer list that changed between pieces may show a peer twice or miss
// one (a restore takes the later of duplicates).

// TorrentRecord is what a state dump keeps of a torrent.
type TorrentRecord struct {
	InfoHash  logic.InfoHash
	Completed uint32
	Age       uint32 // whole minutes since its last announce
}

// PeerRecord is what a state dump keeps of a peer.
type PeerRecord struct {
	Peer      netip.AddrPort
	Seeder    bool
	Completed bool   // its download was counted already
	Age       uint32 // whole minutes since its last announce
}

// SnapshotCursor is where a Snapshot walk stands; the zero value starts it.
type SnapshotCursor struct {
	shard, slot uint32
	fam, peer   uint32
	inTorrent   bool // the torrent at slot was reported; its peers follow
	hash        logic.InfoHash
	// The records handed to the callbacks live here, so that a walk
	// allocates nothing per shard.
	torrentRec TorrentRecord
	peerRec    PeerRecord
}

// ErrExpired refuses to restore a torrent or peer older than its timeout.
var ErrExpired = errors.New("older than its timeout")

// Snapshot reports torrents and their peers from c on, each torrent before
// its peers, until it has reported max records; it returns false once the
// walk is complete. The callbacks run with a shard locked: they must be
// quick and must not call the store. Peers already past the peer timeout
// are left out.
func (s *Store) Snapshot(c *SnapshotCursor, max int, torrent func(*TorrentRecord), peer func(*PeerRecord)) bool {
	if max < 1 {
		max = 1
	}
	for c.shard < uint32(len(s.shards)) {
		sh := &s.shards[c.shard]
		sh.mu.Lock()
		max = s.snapshotShard(sh, c, max, torrent, peer)
		sh.mu.Unlock()
		if max == 0 {
			return true
		}
		c.shard, c.slot, c.inTorrent = c.shard+1, 0, false
	}
	return false
}

// snapshotShard goes on with the walk in one locked shard and returns how
// many records it may still report; 0 leaves the cursor inside the shard.
func (s *Store) snapshotShard(sh *shard, c *SnapshotCursor, max int, torrent func(*TorrentRecord), peer func(*PeerRecord)) int {
	now, peerTTL := s.now.get(), s.peerTTL.Load()
	for ; c.slot < sh.nextSlot; c.slot, c.inTorrent = c.slot+1, false {
		t := &sh.slots[c.slot]
		if t.touched == freeMark || c.inTorrent && t.hash != c.hash {
			continue // free, or released and reused since the last piece
		}
		if !c.inTorrent {
			if max == 0 {
				return 0
			}
			c.torrentRec = TorrentRecord{InfoHash: t.hash, Completed: t.completed, Age: now - t.touched}
			torrent(&c.torrentRec)
			max--
			c.inTorrent, c.hash, c.fam, c.peer = true, t.hash, 0, 0
		}
		for ; c.fam < 2; c.fam, c.peer = c.fam+1, 0 {
			w := recordWords[c.fam]
			recs := t.lists[c.fam].records(s.arena, w)
			for ; int(c.peer)*w < len(recs); c.peer++ {
				if max == 0 {
					return 0
				}
				rec := recs[int(c.peer)*w : int(c.peer+1)*w]
				st := rec[w-1]
				age := (now - st&seenMask) & seenMask
				if age >= peerTTL {
					continue
				}
				c.peerRec = PeerRecord{Peer: recordAddr(rec, w), Seeder: st&flagSeeder != 0,
					Completed: st&flagCompleted != 0, Age: age}
				peer(&c.peerRec)
				max--
			}
		}
	}
	return max
}

// recordAddr decodes a peer record's address and port.
func recordAddr(rec []uint32, w int) netip.AddrPort {
	port := uint16(rec[w-1] >> 16)
	if w == 2 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], rec[0])
		return netip.AddrPortFrom(netip.AddrFrom4(b), port)
	}
	var b [16]byte
	for i := 0; i < 4; i++ {
		binary.BigEndian.PutUint32(b[4*i:], rec[i])
	}
	return netip.AddrPortFrom(netip.AddrFrom16(b), port)
}

// ageToMinute turns an age into a minute of the store's clock. The clock
// wraps like every stored minute, so a torrent older than the store is
// simply a minute "before" zero; freeMark is never produced.
func ageToMinute(now, age uint32) uint32 {
	m := now - age
	if m == freeMark {
		m++ // a minute younger rather than a released slot
	}
	return m
}

// RestoreTorrent recreates a torrent from a state dump with its age and
// completed count (the larger of the stored and the dumped one, so that
// loading a dump twice does not double it). A torrent older than the
// timeout that applies to it (the torrent timeout once it has a download,
// else the peer timeout) is refused with ErrExpired. A torrent already
// stored keeps the later of the two ages.
func (s *Store) RestoreTorrent(r *TorrentRecord) error {
	ttl := s.peerTTL.Load()
	if r.Completed > 0 {
		ttl = s.torrentTTL
	}
	if r.Age >= ttl {
		return ErrExpired
	}
	sh, home := s.shardFor(&r.InfoHash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now.get()
	pos, found := sh.find(&r.InfoHash, home)
	if !found {
		var ok bool
		if pos, ok = sh.add(pos, &r.InfoHash, home, ageToMinute(now, r.Age), &s.keys); !ok {
			s.refusedT.add()
			return errTorrentsFull
		}
	}
	t := &sh.slots[sh.index[pos]-1]
	if found && now-t.touched > r.Age {
		t.touched = ageToMinute(now, r.Age)
	}
	if r.Completed > t.completed {
		sh.completed += uint64(r.Completed - t.completed)
		t.completed = r.Completed
	}
	return nil
}

// RestorePeer adds a peer from a state dump to a torrent restored before,
// with its age and flags; a peer already stored takes the dumped state if
// that is more recent. Its completed flag only marks the peer (the
// torrent's count came with RestoreTorrent). Peers past the peer timeout
// are refused with ErrExpired; a full arena refuses with ErrFull.
func (s *Store) RestorePeer(h logic.InfoHash, r *PeerRecord) error {
	if r.Age >= s.peerTTL.Load() {
		return ErrExpired
	}
	key, ok := makeKey(r.Peer)
	if !ok {
		return errNoAddress
	}
	sh, home := s.shardFor(&h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now.get()
	pos, found := sh.find(&h, home)
	if !found {
		return errNoTorrent
	}
	t := &sh.slots[sh.index[pos]-1]
	state := ageToMinute(now, r.Age) & seenMask
	if r.Seeder {
		state |= flagSeeder
	}
	if r.Completed {
		state |= flagCompleted
	}
	f, w := key.fam, recordWords[key.fam]
	l := &t.lists[f]
	i, known := search(l.records(s.arena, w), &key, w)
	if !known {
		if !l.insert(s.arena, w, i, &key, state) {
			s.refusedP.add()
			return errPeersFull
		}
		if r.Seeder {
			l.seeds++
			sh.seeds++
		}
		sh.peers[f]++
		return nil
	}
	st := &l.records(s.arena, w)[i*w+w-1]
	if (now-*st&seenMask)&seenMask <= r.Age {
		return nil // the stored announce is as recent
	}
	switch was := *st&flagSeeder != 0; {
	case was && !r.Seeder:
		l.seeds--
		sh.seeds--
	case !was && r.Seeder:
		l.seeds++
		sh.seeds++
	}
	*st = *st&^stateMask | state
	return nil
}

var errNoTorrent = errors.New("peer of a torrent that was not restored")
