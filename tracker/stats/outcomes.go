package stats

import (
	"net/netip"
	"sync/atomic"
)

// Proto, Family and Result index the announce outcome counters.
type (
	Proto  uint8
	Family uint8
	Result uint8
)

const (
	HTTP Proto = iota
	UDP
	numProtos
)

const (
	IPv4 Family = iota
	IPv6
	numFamilies
)

const (
	Accepted      Result = iota // answered with peers
	NotAuthorized               // refused by the access list
	Full                        // refused: the memory budget is full
	BadInput                    // refused: malformed or missing parameters
	numResults
)

var (
	protoNames  = [numProtos]string{"http", "udp"}
	familyNames = [numFamilies]string{"ipv4", "ipv6"}
	resultNames = [numResults]string{"ok", "not_authorized", "full", "bad_input"}
)

// Outcomes counts announces by protocol, address family and result: what
// the JSON and Prometheus pages break the announce totals into.
type Outcomes [numProtos][numFamilies][numResults]atomic.Uint64

// Count records one announce from a client at addr.
func (o *Outcomes) Count(p Proto, addr netip.Addr, r Result) {
	f := IPv4
	if addr.Is6() && !addr.Is4In6() {
		f = IPv6
	}
	o[p][f][r].Add(1)
}
