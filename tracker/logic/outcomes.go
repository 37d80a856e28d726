package logic

import (
	"errors"
	"net/netip"
	"sync/atomic"
)

// Proto is the front end an announce came through.
type Proto uint8

const (
	ProtoHTTP Proto = iota
	ProtoUDP
	NumProtos
)

// Outcome is how an announce ended.
type Outcome uint8

const (
	OutcomeOK            Outcome = iota // answered with peers
	OutcomeNotAuthorized                // refused by the access list
	OutcomeFull                         // refused: the memory budget is full
	OutcomeBadInput                     // refused: missing or malformed parameters
	NumOutcomes
)

// Outcomes counts announces by front end, the client's address family
// (index 0 IPv4, 1 IPv6) and outcome, for the JSON and Prometheus pages.
type Outcomes [NumProtos][2][NumOutcomes]atomic.Uint64

// Count records one announce from a client at addr; a v4-mapped address
// counts as IPv4.
func (o *Outcomes) Count(p Proto, addr netip.Addr, r Outcome) {
	f := 0
	if addr.Is6() && !addr.Is4In6() {
		f = 1
	}
	o[p][f][r].Add(1)
}

// Record counts an announce that reached Tracker.Announce by the error it
// returned: nil, ErrNotAuthorized, ErrFull, or another (a request the
// store cannot take, such as one without a valid address).
func (o *Outcomes) Record(p Proto, addr netip.Addr, err error) {
	r := OutcomeOK
	switch {
	case err == nil:
	case err == ErrNotAuthorized:
		r = OutcomeNotAuthorized
	case errors.Is(err, ErrFull):
		r = OutcomeFull
	default:
		r = OutcomeBadInput
	}
	o.Count(p, addr, r)
}
