// Package logic is the tracker's policy and its domain types, the one place
// both front ends (HTTP and UDP) and live sync go through, as opentracker's
// trackerlogic.c and chihaya's TrackerLogic: Tracker.Announce applies the
// access list, turns a full memory budget into a refusal, counts completed
// downloads and refusals, tells live sync what is new, and spreads the
// announce interval; Tracker.Scrape reads a torrent's counts. The front ends
// only parse requests and write replies.
//
// The store (package swarm) and the access list (package access) are behind
// small interfaces, so that this package sits below them: they use its types.
package logic

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Store keeps the swarms (swarm.Store).
type Store interface {
	Announce(*Request, *PeerBuffer) (Result, error)
	Scrape(InfoHash) (Counts, bool)
	Range(fn func(InfoHash, Counts) bool)
	Torrents() int
}

// Access decides which torrents are tracked (access.List).
type Access interface {
	Allowed(InfoHash) bool
}

// Config tunes the policy.
type Config struct {
	// Interval is the base announce interval; every reply varies it by
	// -10%..+10% (1620..1979 s for 1800, as opentracker), so that clients
	// that started together drift apart. At least a second.
	Interval time.Duration
}

// Tracker applies the policy to announces and scrapes. It is safe for
// concurrent use and allocates nothing per announce or scrape.
type Tracker struct {
	store       Store
	acl         Access // nil: every torrent is tracked
	c           *Counters
	intervalSec atomic.Uint32 // SetInterval changes it
	observe     func(News)
}

// New returns the policy over store. acl nil tracks every torrent; c nil
// counts into a private Counters.
func New(cfg Config, store Store, acl Access, c *Counters) *Tracker {
	if c == nil {
		c = new(Counters)
	}
	t := &Tracker{store: store, acl: acl, c: c}
	t.SetInterval(cfg.Interval)
	return t
}

// Counters are the counters the policy and the front ends count into.
func (t *Tracker) Counters() *Counters { return t.c }

// Observe makes fn see every announce whose Result is Fresh, after the
// store has applied it (live sync broadcasts them). Announces marked
// FromSync are not shown, so synced peers are never sent on. Call it before
// the tracker serves announces.
func (t *Tracker) Observe(fn func(News)) { t.observe = fn }

// Announce records req and writes the reply's peers into peers. A torrent
// the access list refuses gets ErrNotAuthorized; a full budget an error
// wrapping ErrFull. Records learnt from other trackers (req.FromSync) go
// through the same checks but are not counted: live sync counts them.
// req and peers pass through the Store interface and so escape to the
// heap: keep both in a long-lived buffer (a connection's, a receive
// loop's), as the front ends do, and an announce allocates nothing.
func (t *Tracker) Announce(req *Request, peers *PeerBuffer) (Result, error) {
	counted := !req.FromSync
	if t.acl != nil && !t.acl.Allowed(req.InfoHash) {
		if counted {
			t.c.NotAuthorized.Add(1)
		}
		return Result{}, ErrNotAuthorized
	}
	res, err := t.store.Announce(req, peers)
	if err != nil {
		if counted && errors.Is(err, ErrFull) {
			t.c.Full.Add(1)
		}
		return res, err
	}
	res.Interval = t.interval()
	if !counted {
		return res, nil
	}
	if res.NewDownload {
		t.c.Completed.Add(1)
	}
	if res.Fresh && t.observe != nil {
		t.observe(News{InfoHash: req.InfoHash, Peer: req.Peer, Event: req.Event,
			Seeder: req.Seeder || req.Event == EventPaused, NewDownload: res.NewDownload})
	}
	return res, nil
}

// Scrape returns a torrent's counts; ok is false for a torrent the store
// does not hold. The access list is not consulted, as in opentracker: a
// refused torrent has no swarm.
func (t *Tracker) Scrape(h InfoHash) (c Counts, ok bool) { return t.store.Scrape(h) }

// Range calls fn for every torrent until fn returns false (full scrapes).
// fn runs under a store lock: it should only copy.
func (t *Tracker) Range(fn func(InfoHash, Counts) bool) { t.store.Range(fn) }

// Torrents is how many torrents the store holds.
func (t *Tracker) Torrents() int { return t.store.Torrents() }

// SetInterval changes the base announce interval (at least a second) for
// the replies from now on (SIGHUP).
func (t *Tracker) SetInterval(d time.Duration) {
	t.intervalSec.Store(uint32(max(d/time.Second, 1)))
}

// interval is the announce interval in seconds for one reply.
func (t *Tracker) interval() uint32 {
	base := t.intervalSec.Load()
	j := base / 10
	if j == 0 {
		return base
	}
	return base - j + rand.Uint32N(2*j)
}
