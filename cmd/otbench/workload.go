//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"math"
)

// rng is a small, allocation-free PRNG (splitmix64). It is not for crypto;
// the generator only needs speed and a fixed seed for reproducible runs.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n) using Lemire's multiply-shift reduction.
func (r *rng) intn(n uint32) uint32 {
	return uint32((uint64(uint32(r.next())) * uint64(n)) >> 32)
}

// infoHash writes the deterministic info_hash of torrent i into dst (20
// bytes). The first 4 bytes are i*2654435761 (a bijection on uint32, so hashes
// are distinct and spread over every bucket of opentracker's 1024-bucket
// table); the rest is splitmix64 of the seed and i.
func infoHash(dst []byte, seed uint64, i uint32) {
	binary.BigEndian.PutUint32(dst[0:4], i*2654435761)
	r := rng{s: seed ^ (uint64(i) << 20) ^ 0x5bd1e995}
	binary.BigEndian.PutUint64(dst[4:12], r.next())
	binary.BigEndian.PutUint64(dst[12:20], r.next())
}

// Peer flags.
const (
	peerStarted = 1 << iota // has announced "started" and not "stopped" since
	peerSeeder              // left == 0
)

// peer is one member of the simulated population. A peer belongs to one
// source address (socket or connection slot), so its identity on the tracker
// is that address plus Port.
type peer struct {
	torrent uint32
	port    uint16
	flags   uint8
}

// Workload is the pre-generated request model, in the style of aquatic's load
// tests: torrents with Pareto-distributed popularity and a fixed peer
// population, each peer tied to one torrent and one source address.
type Workload struct {
	Seed      uint64
	Torrents  int
	Hashes    []byte // Torrents*20 bytes
	Shape     float64
	pick      []uint32 // quantile table of the popularity distribution
	Peers     []peer
	Sources   int // number of source addresses peers are spread over
	NumWant   int32
	ScrapeN   int     // hashes per scrape request
	ScrapePct int     // share of requests that are scrapes, in percent
	StopPer   uint32  // 1 in StopPer periodic announces is a "stopped"
	DonePer   uint32  // 1 in DonePer leecher announces is a "completed"
	SeedProb  float64 // share of peers that start as seeders
	// grow, when set, makes PickPeer hand out each source's peers in order,
	// one new peer per announce, so that swarms only grow; cursor holds
	// each source's next peer number.
	grow   bool
	cursor []uint32
}

// MakeUniformGrowing turns w into the second workload: every torrent equally
// popular (peer p belongs to torrent p mod Torrents), and every announce a
// new peer joining, so that swarms grow for the whole run. With a request
// bound no larger than the population, the trackers under test see the same
// announces however fast they answer.
func (w *Workload) MakeUniformGrowing() {
	for p := range w.Peers {
		w.Peers[p].torrent = uint32(p % w.Torrents)
	}
	for k := range w.pick {
		w.pick[k] = uint32(uint64(k) * uint64(w.Torrents) / pickTableSize)
	}
	w.grow = true
	w.cursor = make([]uint32, w.Sources)
}

// pickTableSize is the number of quantiles in the popularity table: a request
// draws one entry uniformly, so the hot loop does no float math.
const pickTableSize = 1 << 16

// paretoIndex maps a uniform u in [0,1) to a torrent index the way aquatic's
// (pre-2022) load test did: x ~ Pareto(scale 1, shape), clipped to 101, then
// (x-1)/100 scaled to the torrent count. With shape 2, 75% of draws land in
// the most popular 1% of torrents.
func paretoIndex(u, shape float64, n int) uint32 {
	x := math.Pow(1-u, -1/shape)
	if x > 101 {
		x = 101
	}
	i := int((x - 1) / 100 * float64(n))
	if i >= n {
		i = n - 1
	}
	if i < 0 {
		i = 0
	}
	return uint32(i)
}

// NewWorkload builds the torrent set, the popularity table and the peer
// population. Peer p belongs to source p % sources; its port is unique among
// the peers of its source while there are at most 64,000 of them.
func NewWorkload(seed uint64, torrents, peers, sources int, shape, seedProb float64) (*Workload, error) {
	if torrents <= 0 || peers <= 0 || sources <= 0 {
		return nil, fmt.Errorf("torrents, peers and sources must be positive")
	}
	if shape <= 0 {
		return nil, fmt.Errorf("pareto shape must be positive")
	}
	w := &Workload{
		Seed: seed, Torrents: torrents, Shape: shape, Sources: sources,
		NumWant: 50, ScrapeN: 10, StopPer: 50, DonePer: 20, SeedProb: seedProb,
		Hashes: make([]byte, torrents*20),
		pick:   make([]uint32, pickTableSize),
		Peers:  make([]peer, peers),
	}
	for i := 0; i < torrents; i++ {
		infoHash(w.Hashes[i*20:i*20+20], seed, uint32(i))
	}
	for k := range w.pick {
		u := (float64(k) + 0.5) / pickTableSize
		w.pick[k] = paretoIndex(u, shape, torrents)
	}
	r := rng{s: seed}
	seedCut := uint32(seedProb * 65536)
	for p := range w.Peers {
		w.Peers[p].torrent = w.pick[r.intn(pickTableSize)]
		w.Peers[p].port = uint16(1024 + (p/sources)%64000)
		if r.intn(65536) < seedCut {
			w.Peers[p].flags = peerSeeder
		}
	}
	return w, nil
}

// Hash returns torrent i's info_hash.
func (w *Workload) Hash(i uint32) []byte { return w.Hashes[i*20 : i*20+20] }

// PickTorrent draws a torrent by popularity.
func (w *Workload) PickTorrent(r *rng) uint32 { return w.pick[r.intn(pickTableSize)] }

// PickPeer draws a peer of source src uniformly. It returns -1 if the source
// owns no peer.
func (w *Workload) PickPeer(r *rng, src int) int {
	n := len(w.Peers)
	cnt := n / w.Sources
	if src < n%w.Sources {
		cnt++
	}
	if cnt == 0 {
		return -1
	}
	if w.grow {
		k := int(w.cursor[src]) % cnt
		w.cursor[src]++
		return src + k*w.Sources
	}
	return src + int(r.intn(uint32(cnt)))*w.Sources
}

// BEP 15 event codes; HTTP uses the names.
const (
	evNone      = 0
	evCompleted = 1
	evStarted   = 2
	evStopped   = 3
)

// NextEvent advances peer p's life cycle and returns the event of its next
// announce and whether it is a seeder (left == 0): a new peer starts; a
// running one mostly re-announces, sometimes stops (and will start again
// later); a leecher sometimes completes and becomes a seeder.
func (w *Workload) NextEvent(r *rng, p int) (event uint32, seeder bool) {
	pe := &w.Peers[p]
	switch {
	case pe.flags&peerStarted == 0:
		pe.flags |= peerStarted
		event = evStarted
	case w.StopPer > 0 && r.intn(w.StopPer) == 0:
		pe.flags &^= peerStarted
		event = evStopped
	case pe.flags&peerSeeder == 0 && w.DonePer > 0 && r.intn(w.DonePer) == 0:
		pe.flags |= peerSeeder
		event = evCompleted
	default:
		event = evNone
	}
	return event, pe.flags&peerSeeder != 0
}

// IsScrape draws whether the next request is a scrape.
func (w *Workload) IsScrape(r *rng) bool {
	return w.ScrapePct > 0 && int(r.intn(100)) < w.ScrapePct
}

// peerID writes a 20-byte peer_id for peer p: an Azureus-style client prefix
// and the peer number in hex, so it is stable across runs.
func peerID(dst []byte, p int) {
	copy(dst, "-OB0001-")
	const hexd = "0123456789abcdef"
	v := uint64(p)
	for i := 19; i >= 8; i-- {
		dst[i] = hexd[v&15]
		v >>= 4
	}
}
