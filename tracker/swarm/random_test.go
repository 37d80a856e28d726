package swarm

// A randomized model-based test: the store and the model go through the
// same operations (announces of every kind, clock moves, partial and full
// sweeps, restores, refusals under tiny budgets) and are compared, with the
// invariants checked, after every step.

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

type randomConfig struct {
	name        string
	budget      int64
	maxTorrents int
	arenaUnits  int // > 0: replace the arena by one this small; < 0: keep
	torrents    int // size of the info_hash universe
	peers       int // size of the peer universe
	peerTTL     time.Duration
	torrentTTL  time.Duration
	steps       int
}

// randomPeers builds a peer universe that exercises ordering (high address bits,
// ports 0 and 65535), same address with several ports, and v4-mapped v6
// spellings of v4 peers.
func randomPeers(n int, rng *rand.Rand) []netip.AddrPort {
	ports := []uint16{0, 1, 6881, 65535}
	var out []netip.AddrPort
	for i := 0; len(out) < n; i++ {
		port := ports[rng.IntN(len(ports))]
		switch i % 5 {
		case 0, 1:
			a := netip.AddrFrom4([4]byte{byte(rng.IntN(3)) * 100, 0, byte(i >> 8), byte(i)})
			out = append(out, netip.AddrPortFrom(a, port))
		case 2: // a v4-mapped spelling of an earlier v4 peer, or another port
			prev := out[len(out)-1]
			if rng.IntN(2) == 0 {
				out = append(out, netip.AddrPortFrom(netip.AddrFrom16(prev.Addr().As16()), prev.Port()))
			} else {
				out = append(out, netip.AddrPortFrom(prev.Addr(), port))
			}
		default:
			var b [16]byte
			b[0] = byte(0x20 + 0xc0*rng.IntN(2))
			b[15] = byte(i)
			b[7] = byte(i >> 8)
			out = append(out, netip.AddrPortFrom(netip.AddrFrom16(b), port))
		}
	}
	return out
}

func runRandom(t *testing.T, cfg randomConfig, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	start := clk.Now()
	s, err := New(Config{MemoryBudget: cfg.budget, MaxTorrents: cfg.maxTorrents, PeerTimeout: cfg.peerTTL, TorrentTimeout: cfg.torrentTTL, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.arenaUnits >= 0 {
		s.arena = newArena(uint32(cfg.arenaUnits))
	}
	m := newModel(s)
	peers := randomPeers(cfg.peers, rng)
	hashes := make([]logic.InfoHash, cfg.torrents)
	for i := range hashes {
		hashes[i] = hashN(int(seed)*1000 + i)
	}
	var buf logic.PeerBuffer
	now := func() uint32 { return uint32(clk.Now().Sub(start) / time.Minute) }
	numwants := []int{-3, 0, 1, 2, 3, 7, 50, 600}
	events := []logic.Event{logic.EventNone, logic.EventNone, logic.EventStarted, logic.EventCompleted, logic.EventStopped, logic.EventPaused}
	var fams = []logic.Family{0, logic.V4, logic.V6, logic.BothFamilies, logic.BothFamilies, logic.BothFamilies}
	for step := 0; step < cfg.steps; step++ {
		op := rng.IntN(100)
		var what string
		switch {
		case op < 72:
			req := logic.Request{
				InfoHash: hashes[rng.IntN(len(hashes))],
				Peer:     peers[rng.IntN(len(peers))],
				Event:    events[rng.IntN(len(events))],
				Seeder:   rng.IntN(3) == 0,
				NumWant:  numwants[rng.IntN(len(numwants))],
				Families: fams[rng.IntN(len(fams))],
			}
			what = fmt.Sprintf("announce %v ev %d seeder %v", req.Peer, req.Event, req.Seeder)
			if err := m.announce(&req, &buf, s.now.get()); err != nil {
				t.Fatalf("%s seed %d step %d %s: %v", cfg.name, seed, step, what, err)
			}
		case op < 80:
			d := time.Duration(rng.IntN(4)) * time.Minute
			if rng.IntN(4) == 0 {
				d = 30 * time.Second
			}
			if rng.IntN(50) == 0 {
				d = time.Duration(rng.IntN(3000)) * time.Minute
			}
			// keep every shard swept within 8192 minutes (Run sweeps each
			// minute), so the 13-bit minute stays unambiguous
			if oldest := slicesMin(m.lastSwept); now()+uint32(d/time.Minute)+1 > oldest+4000 {
				s.SweepAll()
				for i := range s.shards {
					m.sweep(i, s.now.get())
				}
			}
			clk.Advance(d)
			s.Tick()
			what = fmt.Sprintf("advance %v", d)
			if s.now.get() != now() {
				t.Fatalf("clock %d, want %d", s.now.get(), now())
			}
		case op < 90:
			i := int(s.sweepShard.Load() % uint32(len(s.shards)))
			s.Sweep()
			m.sweep(i, s.now.get())
			what = fmt.Sprintf("sweep shard %d", i)
		case op < 92:
			s.SweepAll()
			for i := range s.shards {
				m.sweep(i, s.now.get())
			}
			what = "sweep all"
		case op < 96:
			h := hashes[rng.IntN(len(hashes))]
			c := uint32(rng.IntN(3))
			what = fmt.Sprintf("restore %x %d", h[:4], c)
			if err := m.restore(h, c, s.now.get()); err != nil {
				t.Fatalf("%s seed %d step %d %s: %v", cfg.name, seed, step, what, err)
			}
		default:
			h := hashes[rng.IntN(len(hashes))]
			c, ok := s.Scrape(h)
			mt := m.torrents[h]
			if ok != (mt != nil) || (ok && c != mt.counts()) {
				t.Fatalf("%s seed %d step %d: scrape %+v %v, model %v", cfg.name, seed, step, c, ok, mt)
			}
			what = "scrape"
		}
		if err := checkInvariants(s); err != nil {
			t.Fatalf("%s seed %d step %d after %s: invariant: %v", cfg.name, seed, step, what, err)
		}
		if err := m.compare(); err != nil {
			t.Fatalf("%s seed %d step %d after %s: model: %v", cfg.name, seed, step, what, err)
		}
	}
	// everything expires in the end and gives all memory back
	clk.Advance(cfg.torrentTTL + cfg.peerTTL + 2*time.Minute)
	s.Tick()
	s.SweepAll()
	for i := range s.shards {
		m.sweep(i, s.now.get())
	}
	if err := m.compare(); err != nil {
		t.Fatalf("%s seed %d final: %v", cfg.name, seed, err)
	}
	if err := checkInvariants(s); err != nil {
		t.Fatalf("%s seed %d final: %v", cfg.name, seed, err)
	}
	if st := s.Stats(); st.Torrents != 0 || st.ArenaUsedBytes != 0 {
		t.Fatalf("%s seed %d: after full expiry %+v", cfg.name, seed, st)
	}
}

func slicesMin(v []uint32) uint32 {
	m := v[0]
	for _, x := range v[1:] {
		m = min(m, x)
	}
	return m
}

var randomConfigs = []randomConfig{
	// one shard, 3 slots in an 8-entry index: heavy probing and backward
	// shifts; an arena of a few dozen units: constant refusals, grow/shrink
	{name: "tiny", budget: 64 << 10, maxTorrents: 3, arenaUnits: 40, torrents: 10, peers: 40, peerTTL: 2 * time.Minute, torrentTTL: 5 * time.Minute, steps: 6000},
	{name: "empty-arena", budget: 64 << 10, maxTorrents: 5, arenaUnits: 0, torrents: 12, peers: 10, peerTTL: time.Minute, torrentTTL: 3 * time.Minute, steps: 2000},
	{name: "odd-arena", budget: 64 << 10, maxTorrents: 7, arenaUnits: 333, torrents: 16, peers: 120, peerTTL: 5 * time.Minute, torrentTTL: 30 * time.Minute, steps: 8000},
	// eight shards, real sizes
	{name: "shards", budget: 256 << 10, maxTorrents: 512, arenaUnits: 700, torrents: 60, peers: 200, peerTTL: 13 * time.Minute, torrentTTL: 2 * time.Minute, steps: 8000},
	{name: "default-arena", budget: 64 << 10, maxTorrents: 0, arenaUnits: -1, torrents: 200, peers: 400, peerTTL: 45 * time.Minute, torrentTTL: 24 * time.Hour, steps: 6000},
}

// TestStoreMatchesModel drives the store and the model through random operations and
// compares them after every step.
func TestStoreMatchesModel(t *testing.T) {
	seeds := 4
	if testing.Short() {
		seeds = 1
	}
	for _, cfg := range randomConfigs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				runRandom(t, cfg, seed)
			}
		})
	}
}

// TestModelCatchesCorruption shows the checkers catch corruption of each kind.
func TestModelCatchesCorruption(t *testing.T) {
	setup := func() (*Store, *model, logic.InfoHash) {
		s, _ := newTestStore(t, 64<<10)
		m := newModel(s)
		var buf logic.PeerBuffer
		h := hashN(1)
		for i := 0; i < 20; i++ {
			req := logic.Request{InfoHash: h, Peer: peer4(i, 1), Seeder: i%3 == 0, NumWant: 5, Families: logic.BothFamilies}
			if err := m.announce(&req, &buf, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := checkInvariants(s); err != nil {
			t.Fatal(err)
		}
		if err := m.compare(); err != nil {
			t.Fatal(err)
		}
		return s, m, h
	}
	corruptions := map[string]func(s *Store, m *model, h logic.InfoHash){
		"shard seeds": func(s *Store, m *model, h logic.InfoHash) { sh, _ := s.shardFor(&h); sh.seeds++ },
		"list seeds":  func(s *Store, m *model, h logic.InfoHash) { m.listOf(h, fam4).seeds-- },
		"record order": func(s *Store, m *model, h logic.InfoHash) {
			r := m.listOf(h, fam4).records(s.arena, 2)
			r[0], r[2] = r[2], r[0]
		},
		"shard completed": func(s *Store, m *model, h logic.InfoHash) { sh, _ := s.shardFor(&h); sh.completed++ },
		"region leak":     func(s *Store, m *model, h logic.InfoHash) { s.arena.allocRegion(1) },
		"head bit": func(s *Store, m *model, h logic.InfoHash) {
			u := m.listOf(h, fam4).off + 1
			s.arena.heads[u/64] |= 1 << (u % 64)
		},
		"model peer": func(s *Store, m *model, h logic.InfoHash) { delete(m.torrents[h].peers, peer4(3, 1)) },
		"completed":  func(s *Store, m *model, h logic.InfoHash) { m.torrents[h].completed++ },
		"index moved": func(s *Store, m *model, h logic.InfoHash) {
			sh, home := s.shardFor(&h)
			p, _ := sh.find(&h, home)
			q := (p + 1) & (sh.live - 1)
			sh.index[p], sh.index[q] = sh.index[q], sh.index[p]
		},
		"stale seen":    func(s *Store, m *model, h logic.InfoHash) { m.torrents[h].peers[peer4(5, 1)].seen++ },
		"unshrunk list": func(s *Store, m *model, h logic.InfoHash) { l := m.listOf(h, fam4); l.n = 2; l.seeds = 0 },
	}
	for name, corrupt := range corruptions {
		s, m, h := setup()
		corrupt(s, m, h)
		if checkInvariants(s) == nil && m.compare() == nil {
			t.Errorf("corruption %q not detected", name)
		}
	}
}
