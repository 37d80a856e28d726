package stats

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// topNetworks is how many networks each list of mode=s24s shows, as in the
// reference.
const topNetworks = 128

// maxSurveyNetworks bounds the memory of one survey: with more distinct
// networks than this, counting switches to the Misra-Gries summary, which
// still lists every network holding more than 1/maxSurveyNetworks of the
// peers, with counts that may be low by at most peers/maxSurveyNetworks.
const maxSurveyNetworks = 8192

// netCounter counts peers per network prefix in bounded memory.
type netCounter struct {
	n      map[uint64]uint64
	approx bool // some counts were decremented (Misra-Gries)
}

func newNetCounter() *netCounter {
	return &netCounter{n: make(map[uint64]uint64)}
}

func (c *netCounter) add(prefix uint64) {
	if _, ok := c.n[prefix]; ok || len(c.n) < maxSurveyNetworks {
		c.n[prefix]++
		return
	}
	// Full: this peer and one of every counted network cancel out.
	c.approx = true
	for k, v := range c.n {
		if v == 1 {
			delete(c.n, k)
		} else {
			c.n[k] = v - 1
		}
	}
}

type netCount struct {
	prefix uint64
	peers  uint64
}

// top returns the largest networks, by peers and then by address.
func (c *netCounter) top(n int) []netCount {
	all := make([]netCount, 0, len(c.n))
	for k, v := range c.n {
		all = append(all, netCount{k, v})
	}
	slices.SortFunc(all, func(a, b netCount) int {
		if a.peers != b.peers {
			return compareDesc(a.peers, b.peers)
		}
		return compareDesc(b.prefix, a.prefix)
	})
	return all[:min(n, len(all))]
}

func compareDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// appendNetworks renders mode=s24s: the reference's top 128 IPv4 /28 and
// /24 networks by peer count ("%08d: a.b.c.0"), then, beyond the reference,
// the same for IPv6 /64 and /48 networks when there are IPv6 peers.
func appendNetworks(dst []byte, store *swarm.Store) []byte {
	v4 := [2]*netCounter{newNetCounter(), newNetCounter()}
	v6 := [2]*netCounter{newNetCounter(), newNetCounter()}
	anyV6 := false
	store.RangeAddrs(func(a netip.Addr) {
		if a.Is4() {
			b := a.As4()
			ip := uint64(binary.BigEndian.Uint32(b[:]))
			v4[0].add(ip &^ 0xf)
			v4[1].add(ip &^ 0xff)
			return
		}
		anyV6 = true
		b := a.As16()
		hi := binary.BigEndian.Uint64(b[:8])
		v6[0].add(hi)
		v6[1].add(hi &^ 0xffff)
	})
	for i, bits := range []int{28, 24} {
		dst = fmt.Appendf(dst, "Networks, limit /%d:\n", bits)
		for _, e := range v4[i].top(topNetworks) {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(e.prefix))
			dst = fmt.Appendf(dst, "%08d: %s\n", e.peers, netip.AddrFrom4(b))
		}
		dst = appendApprox(dst, v4[i])
	}
	if !anyV6 {
		return dst
	}
	for i, bits := range []int{64, 48} {
		dst = fmt.Appendf(dst, "IPv6 networks, limit /%d:\n", bits)
		for _, e := range v6[i].top(topNetworks) {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], e.prefix)
			dst = fmt.Appendf(dst, "%08d: %s\n", e.peers, netip.AddrFrom16(b))
		}
		dst = appendApprox(dst, v6[i])
	}
	return dst
}

// appendApprox ends a list: a blank line, after a warning if its counts are
// estimates.
func appendApprox(dst []byte, c *netCounter) []byte {
	if c.approx {
		dst = fmt.Appendf(dst, "(more than %d networks: counts are lower bounds)\n", maxSurveyNetworks)
	}
	return append(dst, '\n')
}

// appendRenew renders mode=renew as the reference does: per minute since
// the previous announce, "%02d %d", for re-announcing peers.
func appendRenew(dst []byte, store *swarm.Store) []byte {
	for m, n := range store.Renewals() {
		dst = fmt.Appendf(dst, "%02d %d\n", m, n)
	}
	return dst
}
