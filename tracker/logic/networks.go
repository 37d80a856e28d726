package logic

import (
	"fmt"
	"net/netip"
	"strings"
)

// Networks is a set of trusted client networks (admin, proxies, sync nodes).
// The zero value contains nothing.
type Networks struct{ prefixes []netip.Prefix }

// ParseNetworks reads addresses ("10.0.0.1", "::1") and networks
// ("192.168.1.0/24", "fd00::/8").
func ParseNetworks(list []string) (Networks, error) {
	var n Networks
	for _, s := range list {
		p, err := ParseNetwork(s)
		if err != nil {
			return Networks{}, err
		}
		n.prefixes = append(n.prefixes, p)
	}
	return n, nil
}

// ParseNetwork reads one address or network.
func ParseNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or network: %v", s, err)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("%q is not an address or network: a v4-mapped network needs at least 96 bits", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or network", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Contains reports whether a (v4-mapped or not) is in one of the networks.
func (n Networks) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range n.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Len is the number of networks.
func (n Networks) Len() int { return len(n.prefixes) }
