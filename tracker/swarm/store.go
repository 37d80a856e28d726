// Package swarm is the tracker's memory-budgeted swarm store: torrents, their
// peers and counters, in tables allocated once at start from a byte budget.
//
// Everything lives in pointer-free slices (torrent slots, an open-addressing
// index, a buddy-allocated peer arena), so the garbage collector has nothing
// to scan and an announce allocates nothing. The table is split into shards by
// a keyed hash of the info_hash, each with its own lock; only growing a peer
// list takes the arena's lock, briefly. When the budget is used up, new
// torrents and peers are refused with logic.ErrFull while known ones keep
// working. It stores and selects; the policy around it (access list,
// counting, live sync) is logic.Tracker's, whose types it uses.
package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/opentracker-go/opentracker/tracker/internal/secret"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

// Config sizes and times the store.
type Config struct {
	// MemoryBudget is the bytes to allocate for torrents and peers.
	MemoryBudget int64
	// MaxTorrents caps the torrent table; 0 derives it from the budget.
	MaxTorrents int
	// PeerTimeout drops a peer this long after its last announce (45 min).
	PeerTimeout time.Duration
	// TorrentTimeout keeps a torrent without peers whose download was
	// completed at least once (24 h); others go after PeerTimeout.
	TorrentTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults as in the reference.
const (
	DefaultPeerTimeout    = 45 * time.Minute
	DefaultTorrentTimeout = 24 * time.Hour
	// bytes of budget per torrent slot when MaxTorrents is derived
	budgetPerTorrent = 512
	// maxShards bounds the lock striping. Each shard's slots and index are
	// contiguous, so a few torrents touch a page or two of every shard: at
	// 256 shards, 10,000 torrents in a 256 MiB store made 2.1 MB resident;
	// at 64, 1 MB. 64 locks are plenty for the cores a tracker runs on.
	maxShards = 64
	minBudget = 64 << 10
)

// Store is the swarm store. All methods are safe for concurrent use.
type Store struct {
	cfg         Config
	keys        [4]uint64
	shards      []shard
	shardShift  uint
	arena       *arena
	start       time.Time
	now         clock
	peerTTL     atomic.Uint32 // minutes; SetPeerTimeout changes it
	torrentTTL  uint32        // minutes
	budgetBytes int64
	sweepShard  atomic.Uint32
	refusedT    counter
	refusedP    counter
}

var errNoAddress = errors.New("announce without a valid address")

// New allocates the whole store. It fails on a budget too small to be useful.
func New(cfg Config) (*Store, error) {
	if cfg.MemoryBudget < minBudget {
		return nil, fmt.Errorf("memory budget %d bytes is below the minimum of %d", cfg.MemoryBudget, minBudget)
	}
	if cfg.PeerTimeout == 0 {
		cfg.PeerTimeout = DefaultPeerTimeout
	}
	if cfg.TorrentTimeout == 0 {
		cfg.TorrentTimeout = DefaultTorrentTimeout
	}
	if cfg.PeerTimeout < time.Minute || cfg.PeerTimeout > 3*24*time.Hour {
		return nil, errors.New("peer timeout must be between 1 minute and 3 days")
	}
	if cfg.TorrentTimeout < time.Minute {
		return nil, errors.New("torrent timeout must be at least a minute")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	_, nShards, perShard, indexLen, tableBytes, err := sizeTable(cfg.MemoryBudget, cfg.MaxTorrents)
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:         cfg,
		shards:      make([]shard, nShards),
		arena:       newArena(arenaUnitsFor(cfg.MemoryBudget - tableBytes)),
		start:       cfg.Now(),
		torrentTTL:  uint32((cfg.TorrentTimeout + time.Minute - 1) / time.Minute),
		budgetBytes: cfg.MemoryBudget,
	}
	s.peerTTL.Store(minutes(cfg.PeerTimeout))
	var seed [32]byte
	if err := secret.Read(seed[:]); err != nil {
		return nil, err
	}
	for i := range s.keys {
		s.keys[i] = binary.LittleEndian.Uint64(seed[8*i:]) | 1
	}
	for n := nShards; n > 1; n >>= 1 {
		s.shardShift++
	}
	s.shardShift = 64 - s.shardShift
	slots := make([]torrent, nShards*perShard)
	index := make([]uint32, nShards*indexLen)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.slots = slots[i*perShard : (i+1)*perShard : (i+1)*perShard]
		sh.index = index[i*indexLen : (i+1)*indexLen : (i+1)*indexLen]
		sh.live = uint32(min(minIndex, indexLen))
	}
	return s, nil
}

// minutes rounds d up to whole minutes.
func minutes(d time.Duration) uint32 { return uint32((d + time.Minute - 1) / time.Minute) }

// SetPeerTimeout changes how long after its last announce a peer is
// dropped (SIGHUP); the sweep applies it to every peer, stored ones too.
func (s *Store) SetPeerTimeout(d time.Duration) error {
	if d < time.Minute || d > 3*24*time.Hour {
		return errors.New("peer timeout must be between 1 minute and 3 days")
	}
	s.peerTTL.Store(minutes(d))
	return nil
}

func (s *Store) shardFor(h *logic.InfoHash) (*shard, uint64) {
	k := hashKey(h, &s.keys)
	if len(s.shards) == 1 {
		return &s.shards[0], k
	}
	return &s.shards[k>>s.shardShift], k
}

// Tick advances the store's clock from Config.Now. Run calls it; tests with a
// fake clock call it after moving the clock.
func (s *Store) Tick() {
	s.now.set(uint32(s.cfg.Now().Sub(s.start) / time.Minute))
}

// Announce records an announce and writes the reply's peers into buf.
func (s *Store) Announce(req *logic.Request, buf *logic.PeerBuffer) (logic.Result, error) {
	var res logic.Result
	key, ok := makeKey(req.Peer)
	if !ok {
		return res, errNoAddress
	}
	now := s.now.get()
	sh, home := s.shardFor(&req.InfoHash)
	sh.mu.Lock()
	defer sh.mu.Unlock()

	pos, found := sh.find(&req.InfoHash, home)
	if !found {
		if req.Event == logic.EventStopped {
			res.Fresh = true
			return res, nil
		}
		var ok bool
		if pos, ok = sh.add(pos, &req.InfoHash, home, now, &s.keys); !ok {
			s.refusedT.add()
			return res, errTorrentsFull
		}
	}
	t := &sh.slots[sh.index[pos]-1]
	t.touched = now
	f := key.fam
	w := recordWords[f]
	l := &t.lists[f]
	recs := l.records(s.arena, w)
	i, known := search(recs, &key, w)

	seeder := req.Seeder || req.Event == logic.EventPaused
	switch {
	case req.Event == logic.EventStopped:
		res.Fresh = true
		if known {
			if recs[i*w+w-1]&flagSeeder != 0 {
				sh.seeds--
			}
			l.remove(s.arena, w, i)
			sh.peers[f]--
		}
		res.Counts = t.counts()
		s.removeIfEmpty(sh, pos, t)
		return res, nil
	case known:
		sh.refresh(t, l, &recs[i*w+w-1], req, seeder, now, &res)
	default:
		if !l.insert(s.arena, w, i, &key, joinState(req, seeder, now)) {
			s.refusedP.add()
			s.removeIfEmpty(sh, pos, t)
			return res, errPeersFull
		}
		sh.joined(t, l, f, seeder, req.Event == logic.EventCompleted && seeder, &res)
	}
	res.Counts = t.counts()
	s.selectPeers(&res, req, t, f, i, seeder, buf)
	return res, nil
}

// refresh updates a known peer's state word st: its clock, its seeding flag,
// a download it completes, and the renewal survey (this tracker's clients
// only). The shard is locked.
func (sh *shard) refresh(t *torrent, l *peerList, st *uint32, req *logic.Request, seeder bool, now uint32, res *logic.Result) {
	old := *st
	if !req.FromSync {
		sh.countRenewal(old, now)
	}
	if (now-old&seenMask)&seenMask >= syncRenewMinutes {
		res.Fresh = true
	}
	next := old&^(seenMask|flagSeeder) | now&seenMask
	if seeder {
		next |= flagSeeder
	}
	if next&flagSeeder != old&flagSeeder {
		if seeder {
			l.seeds++
			sh.seeds++
		} else {
			l.seeds--
			sh.seeds--
		}
	}
	if req.Event == logic.EventCompleted && seeder && old&flagCompleted == 0 {
		next |= flagCompleted
		t.completed++
		sh.completed++
		res.Fresh, res.NewDownload = true, true
	}
	*st = next
}

// joinState is a new peer's state word.
func joinState(req *logic.Request, seeder bool, now uint32) uint32 {
	state := now & seenMask
	if seeder {
		state |= flagSeeder
	}
	if req.Event == logic.EventCompleted && seeder {
		state |= flagCompleted
	}
	return state
}

// joined counts a peer just inserted into l (family f). The shard is locked.
func (sh *shard) joined(t *torrent, l *peerList, f int, seeder, completed bool, res *logic.Result) {
	if seeder {
		l.seeds++
		sh.seeds++
	}
	if completed {
		t.completed++
		sh.completed++
		res.NewDownload = true
	}
	sh.peers[f]++
	res.Fresh = true
}

// selectPeers fills res.Peers4/Peers6 for the requester at index self of
// family fam.
func (s *Store) selectPeers(res *logic.Result, req *logic.Request, t *torrent, fam, self int, seeder bool, buf *logic.PeerBuffer) {
	want := req.NumWant
	if want > logic.MaxPeersPerReply {
		want = logic.MaxPeersPerReply
	}
	if want <= 0 {
		return
	}
	var e [2]int
	for f := range t.lists {
		if req.Families&(1<<f) != 0 {
			e[f] = eligible(&t.lists[f], seeder, f == fam)
		}
	}
	q4, q6 := splitWant(want, e[0], e[1])
	selfIn := func(f int) int {
		if f == fam {
			return self
		}
		return -1
	}
	if q4 > 0 {
		res.Peers4 = pick(buf.Space4(), t.lists[fam4].records(s.arena, 2), 2, q4, selfIn(fam4), seeder)
	}
	if q6 > 0 {
		res.Peers6 = pick(buf.Space6(), t.lists[fam6].records(s.arena, 5), 5, q6, selfIn(fam6), seeder)
	}
}

// syncRenewMinutes: a re-announce after this long is news for live sync, as
// in the reference (OT_CLIENT_SYNC_RENEW_BOUNDARY).
const syncRenewMinutes = 10

func (t *torrent) counts() logic.Counts {
	n := t.lists[0].n + t.lists[1].n
	seeds := t.lists[0].seeds + t.lists[1].seeds
	return logic.Counts{Seeders: seeds, Leechers: n - seeds, Completed: t.completed}
}

// removeIfEmpty deletes a torrent that has neither peers nor a completed
// download to remember; a torrent with downloads waits for the sweep.
func (s *Store) removeIfEmpty(sh *shard, pos uint32, t *torrent) {
	if t.lists[0].n == 0 && t.lists[1].n == 0 && t.completed == 0 {
		sh.delete(pos, &s.keys)
	}
}

// Scrape returns a torrent's counts; false if the torrent is unknown.
func (s *Store) Scrape(h logic.InfoHash) (logic.Counts, bool) {
	sh, home := s.shardFor(&h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	pos, found := sh.find(&h, home)
	if !found {
		return logic.Counts{}, false
	}
	return sh.slots[sh.index[pos]-1].counts(), true
}

// Range calls fn for every torrent until it returns false. fn runs with a
// shard locked: it must be quick and must not call the store.
func (s *Store) Range(fn func(logic.InfoHash, logic.Counts) bool) {
	s.eachTorrent(func(t *torrent) bool { return fn(t.hash, t.counts()) })
}

// eachTorrent calls fn for every torrent, with its shard locked, until fn
// returns false.
func (s *Store) eachTorrent(fn func(*torrent) bool) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for slot := uint32(0); slot < sh.nextSlot; slot++ {
			t := &sh.slots[slot]
			if t.touched == freeMark {
				continue
			}
			if !fn(t) {
				sh.mu.Unlock()
				return
			}
		}
		sh.mu.Unlock()
	}
}

// Stats returns the store's current size.
func (s *Store) Stats() Stats {
	st := Stats{
		BudgetBytes:     s.budgetBytes,
		ArenaBytes:      int64(s.arena.units) * unitWords * 4,
		ArenaUsedBytes:  int64(s.arena.usedUnits()) * unitWords * 4,
		RefusedTorrents: s.refusedT.get(),
		RefusedPeers:    s.refusedP.get(),
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st.Torrents += int(sh.count)
		st.TorrentCapacity += min(len(sh.slots), len(sh.index)/2)
		st.Peers4 += int(sh.peers[0])
		st.Peers6 += int(sh.peers[1])
		st.Seeders += int(sh.seeds)
		st.Completed += sh.completed
		sh.mu.Unlock()
	}
	return st
}

// Restore recreates a torrent from a state dump: no peers, and its completed
// count (the larger of the stored and the dumped one, so that loading a dump
// twice does not double it). The torrent then expires like any other.
func (s *Store) Restore(h logic.InfoHash, completed uint32) error {
	sh, home := s.shardFor(&h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	pos, found := sh.find(&h, home)
	if !found {
		var ok bool
		if pos, ok = sh.add(pos, &h, home, s.now.get(), &s.keys); !ok {
			s.refusedT.add()
			return errTorrentsFull
		}
	}
	t := &sh.slots[sh.index[pos]-1]
	if completed > t.completed {
		sh.completed += uint64(completed - t.completed)
		t.completed = completed
	}
	return nil
}

// Torrents is how many torrents the store holds.
func (s *Store) Torrents() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += int(sh.count)
		sh.mu.Unlock()
	}
	return n
}
