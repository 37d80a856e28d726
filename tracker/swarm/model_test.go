package swarm

// model is a plain map-based tracker that the random driver runs beside the
// store; compare finds every difference.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

type modelPeer struct {
	seeder, completed bool
	seen              uint32 // minute, unreduced
}

type modelTorrent struct {
	peers     map[netip.AddrPort]*modelPeer
	completed uint32
	touched   uint32
}

type model struct {
	s          *Store
	torrents   map[logic.InfoHash]*modelTorrent
	shardOf    map[logic.InfoHash]int
	lastSwept  []uint32 // per shard, the minute of its last sweep
	refusedT   uint64
	refusedP   uint64
	peerTTL    uint32
	torrentTTL uint32
}

func newModel(s *Store) *model {
	return &model{
		s:          s,
		torrents:   map[logic.InfoHash]*modelTorrent{},
		shardOf:    map[logic.InfoHash]int{},
		lastSwept:  make([]uint32, len(s.shards)),
		peerTTL:    s.peerTTL.Load(),
		torrentTTL: s.torrentTTL,
	}
}

func (m *model) shard(h logic.InfoHash) int {
	if i, ok := m.shardOf[h]; ok {
		return i
	}
	sh, _ := m.s.shardFor(&h)
	for i := range m.s.shards {
		if &m.s.shards[i] == sh {
			m.shardOf[h] = i
			return i
		}
	}
	panic("no shard")
}

func (m *model) shardCount(i int) int {
	n := 0
	for h := range m.torrents {
		if m.shard(h) == i {
			n++
		}
	}
	return n
}

func (m *model) shardFull(i int) bool {
	sh := &m.s.shards[i]
	return m.shardCount(i) >= min(len(sh.slots), len(sh.index)/2)
}

func (t *modelTorrent) counts() logic.Counts {
	var c logic.Counts
	for _, p := range t.peers {
		if p.seeder {
			c.Seeders++
		} else {
			c.Leechers++
		}
	}
	c.Completed = t.completed
	return c
}

func normalPeer(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func familyOf(ap netip.AddrPort) int {
	if ap.Addr().Is4() {
		return fam4
	}
	return fam6
}

// modelGrowTarget is the region size the store asks for when a full list of n
// records in units units must grow.
func modelGrowTarget(n, units uint32, w int) uint32 {
	return max(units+units/4, unitsFor(n+1, w))
}

func orderFor(n uint32) uint8 {
	var k uint8
	for uint32(1)<<k < n {
		k++
	}
	return k
}

// arenaHasBlock reports whether the arena holds a free block of order k or more.
func arenaHasBlock(a *arena, k uint8) bool {
	for j := k; j <= a.maxOrder; j++ {
		if a.free[j] != 0 {
			return true
		}
	}
	return false
}

// listOf returns the store's list of family f for h, or nil.
func (m *model) listOf(h logic.InfoHash, f int) *peerList {
	sh, home := m.s.shardFor(&h)
	pos, ok := sh.find(&h, home)
	if !ok {
		return nil
	}
	return &sh.slots[sh.index[pos]-1].lists[f]
}

// announce applies req to both the store and the model and checks the reply.
func (m *model) announce(req *logic.Request, buf *logic.PeerBuffer, now uint32) error {
	key := normalPeer(req.Peer)
	f := familyOf(key)
	w := recordWords[f]
	// What a refusal would be justified by, seen before the call.
	var preN, preUnits uint32
	if l := m.listOf(req.InfoHash, f); l != nil {
		preN, preUnits = l.n, l.units
	}
	listFull := preN == preUnits*unitWords/uint32(w)
	growOrder := orderFor(modelGrowTarget(preN, preUnits, w))
	growPossible := growOrder <= m.s.arena.maxOrder && arenaHasBlock(m.s.arena, growOrder)

	res, err := m.s.Announce(req, buf)

	t := m.torrents[req.InfoHash]
	seeder := req.Seeder || req.Event == logic.EventPaused
	if t == nil {
		if req.Event == logic.EventStopped {
			if err != nil || res.Counts != (logic.Counts{}) || !res.Fresh || res.NewDownload || len(res.Peers4)+len(res.Peers6) != 0 {
				return fmt.Errorf("stop for unknown torrent: %+v %v", res, err)
			}
			return nil
		}
		full := m.shardFull(m.shard(req.InfoHash))
		if errors.Is(err, errTorrentsFull) {
			if !full {
				return fmt.Errorf("torrent refused while its shard has room (%d torrents)", m.shardCount(m.shard(req.InfoHash)))
			}
			m.refusedT++
			return nil
		}
		if full {
			return fmt.Errorf("torrent accepted into a full shard: %v", err)
		}
		t = &modelTorrent{peers: map[netip.AddrPort]*modelPeer{}, touched: now}
		m.torrents[req.InfoHash] = t
	}
	t.touched = now
	p := t.peers[key]
	var want logic.Result
	switch {
	case req.Event == logic.EventStopped:
		want.Fresh = true
		delete(t.peers, key)
		want.Counts = t.counts()
		if len(t.peers) == 0 && t.completed == 0 {
			delete(m.torrents, req.InfoHash)
		}
		if err != nil || res.Counts != want.Counts || res.Fresh != want.Fresh || res.NewDownload || len(res.Peers4)+len(res.Peers6) != 0 {
			return fmt.Errorf("stop: got %+v %v, want %+v", res, err, want)
		}
		return nil
	case p != nil:
		if now-p.seen >= syncRenewMinutes {
			want.Fresh = true
		}
		p.seen = now
		p.seeder = seeder
		if req.Event == logic.EventCompleted && seeder && !p.completed {
			p.completed = true
			t.completed++
			want.Fresh, want.NewDownload = true, true
		}
	default:
		if errors.Is(err, errPeersFull) {
			if !listFull || growPossible {
				return fmt.Errorf("peer refused with n %d units %d (full %v), grow to order %d possible %v", preN, preUnits, listFull, growOrder, growPossible)
			}
			m.refusedP++
			if len(t.peers) == 0 && t.completed == 0 {
				delete(m.torrents, req.InfoHash)
			}
			return nil
		}
		p = &modelPeer{seeder: seeder, seen: now}
		t.peers[key] = p
		if req.Event == logic.EventCompleted && seeder {
			p.completed = true
			t.completed++
			want.NewDownload = true
		}
		want.Fresh = true
	}
	if err != nil {
		return fmt.Errorf("announce %v: unexpected error %v", key, err)
	}
	want.Counts = t.counts()
	if res.Counts != want.Counts || res.Fresh != want.Fresh || res.NewDownload != want.NewDownload {
		return fmt.Errorf("announce %v %+v: got %+v, want counts %+v fresh %v new %v", key, req, res, want.Counts, want.Fresh, want.NewDownload)
	}
	return m.checkPeers(req, key, seeder, t, &res)
}

// checkPeers verifies the reply's peer lists against the model.
func (m *model) checkPeers(req *logic.Request, self netip.AddrPort, seeder bool, t *modelTorrent, res *logic.Result) error {
	var elig [2]int
	ok := func(ap netip.AddrPort, p *modelPeer) bool {
		return ap != self && (!seeder || !p.seeder) && req.Families&(1<<familyOf(ap)) != 0
	}
	for ap, p := range t.peers {
		if ok(ap, p) {
			elig[familyOf(ap)]++
		}
	}
	wantN := min(req.NumWant, logic.MaxPeersPerReply)
	if wantN < 0 {
		wantN = 0
	}
	if len(res.Peers4)%logic.CompactV4Size != 0 || len(res.Peers6)%logic.CompactV6Size != 0 {
		return fmt.Errorf("ragged peer strings %d %d", len(res.Peers4), len(res.Peers6))
	}
	got := map[netip.AddrPort]bool{}
	var n [2]int
	for f, b := range [][]byte{res.Peers4, res.Peers6} {
		size := []int{logic.CompactV4Size, logic.CompactV6Size}[f]
		for ; len(b) > 0; b = b[size:] {
			a, _ := netip.AddrFromSlice(b[:size-2])
			ap := netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[size-2:]))
			if familyOf(ap) != f {
				return fmt.Errorf("peer %v in the wrong family list", ap)
			}
			p := t.peers[ap]
			if p == nil {
				return fmt.Errorf("reply holds %v, not in the swarm", ap)
			}
			if !ok(ap, p) {
				return fmt.Errorf("reply holds ineligible %v (self %v, requester seeds %v, peer seeds %v)", ap, self, seeder, p.seeder)
			}
			if got[ap] {
				return fmt.Errorf("reply holds %v twice", ap)
			}
			got[ap] = true
			n[f]++
		}
	}
	if n[0]+n[1] != min(wantN, elig[0]+elig[1]) {
		return fmt.Errorf("reply holds %v peers for numwant %d, eligible %v", n, req.NumWant, elig)
	}
	return nil
}

// sweep mirrors Sweep of shard i at minute now.
func (m *model) sweep(i int, now uint32) {
	m.lastSwept[i] = now
	for h, t := range m.torrents {
		if m.shard(h) != i {
			continue
		}
		for ap, p := range t.peers {
			if now-p.seen >= m.peerTTL {
				delete(t.peers, ap)
			}
		}
		if len(t.peers) == 0 {
			ttl := m.peerTTL
			if t.completed > 0 {
				ttl = m.torrentTTL
			}
			if now-t.touched >= ttl {
				delete(m.torrents, h)
			}
		}
	}
}

func (m *model) restore(h logic.InfoHash, c uint32, now uint32) error {
	err := m.s.Restore(h, c)
	t := m.torrents[h]
	if t == nil {
		full := m.shardFull(m.shard(h))
		if errors.Is(err, errTorrentsFull) && full {
			m.refusedT++
			return nil
		}
		if err != nil || full {
			return fmt.Errorf("restore: err %v, shard full %v", err, full)
		}
		t = &modelTorrent{peers: map[netip.AddrPort]*modelPeer{}, touched: now}
		m.torrents[h] = t
	} else if err != nil {
		return fmt.Errorf("restore of a known torrent: %v", err)
	}
	t.completed = max(t.completed, c)
	return nil
}

// compare checks the whole store against the model, internals and public API.
func (m *model) compare() error {
	s := m.s
	seen := 0
	for si := range s.shards {
		sh := &s.shards[si]
		for _, e := range sh.index {
			if e == 0 {
				continue
			}
			st := &sh.slots[e-1]
			t := m.torrents[st.hash]
			if t == nil {
				return fmt.Errorf("store holds torrent %x, model does not", st.hash[:4])
			}
			seen++
			if st.completed != t.completed || st.touched != t.touched {
				return fmt.Errorf("torrent %x: completed %d touched %d, model %d %d", st.hash[:4], st.completed, st.touched, t.completed, t.touched)
			}
			n := 0
			for f := range st.lists {
				w := recordWords[f]
				recs := st.lists[f].records(s.arena, w)
				for i := 0; i < len(recs); i += w {
					var b []byte
					for j := 0; j < w-1; j++ {
						b = binary.BigEndian.AppendUint32(b, recs[i+j])
					}
					a, _ := netip.AddrFromSlice(b)
					ap := netip.AddrPortFrom(a, uint16(recs[i+w-1]>>16))
					p := t.peers[ap]
					if p == nil {
						return fmt.Errorf("torrent %x: store holds peer %v, model does not", st.hash[:4], ap)
					}
					state := recs[i+w-1]
					if (state&flagSeeder != 0) != p.seeder || (state&flagCompleted != 0) != p.completed || state&seenMask != p.seen&seenMask {
						return fmt.Errorf("peer %v state %#x, model %+v", ap, state&stateMask, *p)
					}
					n++
				}
			}
			if n != len(t.peers) {
				return fmt.Errorf("torrent %x: store holds %d peers, model %d", st.hash[:4], n, len(t.peers))
			}
		}
	}
	if seen != len(m.torrents) {
		return fmt.Errorf("store holds %d torrents, model %d", seen, len(m.torrents))
	}
	// public API
	var want Stats
	for h, t := range m.torrents {
		c, ok := s.Scrape(h)
		if !ok || c != t.counts() {
			return fmt.Errorf("scrape %x: %+v %v, model %+v", h[:4], c, ok, t.counts())
		}
		want.Torrents++
		want.Completed += uint64(t.completed)
		for ap, p := range t.peers {
			if familyOf(ap) == fam4 {
				want.Peers4++
			} else {
				want.Peers6++
			}
			if p.seeder {
				want.Seeders++
			}
		}
	}
	ranged := 0
	var rerr error
	s.Range(func(h logic.InfoHash, c logic.Counts) bool {
		ranged++
		if t := m.torrents[h]; t == nil || t.counts() != c {
			rerr = fmt.Errorf("range %x: %+v", h[:4], c)
			return false
		}
		return true
	})
	if rerr != nil {
		return rerr
	}
	if ranged != len(m.torrents) {
		return fmt.Errorf("range saw %d torrents, model %d", ranged, len(m.torrents))
	}
	st := s.Stats()
	if st.Torrents != want.Torrents || st.Peers4 != want.Peers4 || st.Peers6 != want.Peers6 || st.Seeders != want.Seeders || st.Completed != want.Completed || st.RefusedPeers != m.refusedP || st.RefusedTorrents != m.refusedT {
		return fmt.Errorf("stats %+v, model %+v refused %d/%d", st, want, m.refusedT, m.refusedP)
	}
	if st.ArenaUsedBytes > st.ArenaBytes || (len(m.torrents) == 0 && st.ArenaUsedBytes != 0) {
		return fmt.Errorf("arena used %d of %d with %d torrents", st.ArenaUsedBytes, st.ArenaBytes, len(m.torrents))
	}
	return nil
}
