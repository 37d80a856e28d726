package logic

import "sync/atomic"

// Counters are the tracker's event counters, shared by all frontends. Every
// field is updated atomically so that hot paths need no lock.
type Counters struct {
	TCPAccepts      atomic.Uint64
	TCPRejected     atomic.Uint64 // connections refused: no slot could be freed, or their address's are all busy
	HTTPEvicted     atomic.Uint64 // connections closed to make room for a new one (full table or per-address cap)
	HTTPAnnounces   atomic.Uint64
	HTTPScrapes     atomic.Uint64
	FullScrapes     atomic.Uint64
	FullScrapeBytes atomic.Uint64
	HTTPFailures    atomic.Uint64 // announce/scrape answered with a failure reason
	HTTPBadRequests atomic.Uint64 // unparsable requests (HTTP 400 and friends)
	HTTPNotFound    atomic.Uint64
	HTTPRedirects   atomic.Uint64

	UDPPackets   atomic.Uint64
	UDPConnects  atomic.Uint64
	UDPAnnounces atomic.Uint64
	UDPScrapes   atomic.Uint64
	UDPMismatch  atomic.Uint64 // wrong or stale connection id
	UDPMalformed atomic.Uint64 // short, long or garbage packets
	UDPErrors    atomic.Uint64 // error packets sent

	Completed     atomic.Uint64 // completed events accepted
	NotAuthorized atomic.Uint64 // refused by the access list
	Full          atomic.Uint64 // refused because the memory budget is full
	SyncReceived  atomic.Uint64 // live sync peer records applied
	SyncSent      atomic.Uint64 // live sync peer records sent to the cluster
	SyncDropped   atomic.Uint64 // live sync peer records whose packet could not be sent

	Announces Outcomes // by protocol, family and result

	// The HTTP connection table, fixed at start (gauges).
	ConnSlots       atomic.Int64 // connection slots (http.max_connections)
	ConnBufferBytes atomic.Int64 // their read buffers, allocated at start
	ConnsOpen       atomic.Int64 // slots in use
}
