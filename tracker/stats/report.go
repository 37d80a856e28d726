package stats

import (
	"sync/atomic"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// Names of the announce outcome counters' indexes (logic.Outcomes), as the
// pages show them.
var (
	protoNames   = [logic.NumProtos]string{"http", "udp"}
	familyNames  = [2]string{"ipv4", "ipv6"}
	outcomeNames = [logic.NumOutcomes]string{"ok", "not_authorized", "full", "bad_input"}
)

// DaemonState is what the JSON and Prometheus pages show beyond the store
// and the counters: the state of the access list and of live sync. The
// daemon keeps it up to date; a nil *DaemonState shows an open tracker
// without live sync.
type DaemonState struct {
	AccessMode string               // "open", "whitelist" or "blacklist"
	LiveSync   func() LiveSyncStats // nil: live sync is off

	modeNow        atomic.Pointer[string] // SetAccessMode's, over AccessMode
	accessEntries  atomic.Int64
	accessReloaded atomic.Int64 // unix seconds of the last good load, 0: never
	accessFailures atomic.Uint64
}

// LiveSyncStats are live sync's own counters.
type LiveSyncStats struct {
	PacketsSent, RecordsSent, RecordsDropped, PacketsReceived, PacketsRejected uint64
}

// AccessLoaded records a good (re)load of the access list with n entries.
func (d *DaemonState) AccessLoaded(n int, at time.Time) {
	d.accessEntries.Store(int64(n))
	d.accessReloaded.Store(at.Unix())
}

// SetAccessMode records a mode changed while serving (SIGHUP).
func (d *DaemonState) SetAccessMode(mode string) { d.modeNow.Store(&mode) }

// AccessLoadFailed records a reload that failed (the old list stays).
func (d *DaemonState) AccessLoadFailed() { d.accessFailures.Add(1) }

// Report is one reading of everything the JSON and Prometheus pages show.
// It is a plain value, so a page costs no allocation beyond its buffer.
type Report struct {
	Version       string
	UptimeSeconds int64
	Store         swarm.Stats

	Announces [logic.NumProtos][2][logic.NumOutcomes]uint64
	Scrapes   [logic.NumProtos]uint64

	TCPAccepts, FullScrapes, FullScrapeBytes                             uint64
	HTTPFailures, HTTPBadRequests, HTTPNotFound, HTTPRedirects           uint64
	UDPPackets, UDPConnects, UDPMismatch, UDPMalformed, UDPErrors        uint64
	CompletedEvents, RefusedNotAuthorized, RefusedFull, SyncPeersApplied uint64
	AccessMode                                                           string
	AccessEntries, AccessReloaded                                        int64
	AccessReloadFailures                                                 uint64
	LiveSyncOn                                                           bool
	LiveSync                                                             LiveSyncStats
}

// report reads the store, the counters and p.Daemon (which may be nil).
func (p *Pages) report() Report {
	store, c, e := p.Store, p.Counters, p.Daemon
	r := Report{
		Version:              p.Version,
		UptimeSeconds:        int64(time.Since(started) / time.Second),
		Store:                store.Stats(),
		Scrapes:              [logic.NumProtos]uint64{c.HTTPScrapes.Load(), c.UDPScrapes.Load()},
		TCPAccepts:           c.TCPAccepts.Load(),
		FullScrapes:          c.FullScrapes.Load(),
		FullScrapeBytes:      c.FullScrapeBytes.Load(),
		HTTPFailures:         c.HTTPFailures.Load(),
		HTTPBadRequests:      c.HTTPBadRequests.Load(),
		HTTPNotFound:         c.HTTPNotFound.Load(),
		HTTPRedirects:        c.HTTPRedirects.Load(),
		UDPPackets:           c.UDPPackets.Load(),
		UDPConnects:          c.UDPConnects.Load(),
		UDPMismatch:          c.UDPMismatch.Load(),
		UDPMalformed:         c.UDPMalformed.Load(),
		UDPErrors:            c.UDPErrors.Load(),
		CompletedEvents:      c.Completed.Load(),
		RefusedNotAuthorized: c.NotAuthorized.Load(),
		RefusedFull:          c.Full.Load(),
		SyncPeersApplied:     c.SyncReceived.Load(),
		AccessMode:           "open",
	}
	for p := range r.Announces {
		for f := range r.Announces[p] {
			for res := range r.Announces[p][f] {
				r.Announces[p][f][res] = c.Announces[p][f][res].Load()
			}
		}
	}
	if e != nil {
		if m := e.modeNow.Load(); m != nil {
			r.AccessMode = *m
		} else if e.AccessMode != "" {
			r.AccessMode = e.AccessMode
		}
		r.AccessEntries = e.accessEntries.Load()
		r.AccessReloaded = e.accessReloaded.Load()
		r.AccessReloadFailures = e.accessFailures.Load()
		if e.LiveSync != nil {
			r.LiveSyncOn = true
			r.LiveSync = e.LiveSync()
		}
	}
	return r
}

// leechers is peers that are not seeders.
func (r *Report) leechers() int { return r.Store.Peers4 + r.Store.Peers6 - r.Store.Seeders }
