package http

import (
	"net/netip"
	"testing"
)

func TestForwardedClient(t *testing.T) {
	proxies := mustNets(t, "127.0.0.1", "10.0.0.0/8", "fd00::/8")
	peer := netip.MustParseAddr("127.0.0.1")
	cases := []struct{ headers, want string }{
		// The client forged the left value; the proxy appended the real one.
		{"X-Forwarded-For: 127.0.0.1, 203.0.113.5\r\n", "203.0.113.5"},
		// Several header lines read as one list, in order.
		{"X-Forwarded-For: 127.0.0.1\r\nHost: x\r\nx-forwarded-for: 203.0.113.5\r\n", "203.0.113.5"},
		{"X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-For: 10.1.1.1\r\n", "203.0.113.5"},
		// Trusted proxies on the right are skipped; the first untrusted wins.
		{"X-Forwarded-For: 198.51.100.7, 203.0.113.5, 10.2.2.2 ,fd00::1\r\n", "203.0.113.5"},
		// A fully trusted chain: the leftmost address.
		{"X-Forwarded-For: 10.3.3.3, 10.2.2.2\r\n", "10.3.3.3"},
		// Empty elements are no elements; v4-mapped and IPv6 addresses work.
		{"X-Forwarded-For: 203.0.113.5,, ,\r\n", "203.0.113.5"},
		{"X-Forwarded-For: ::ffff:203.0.113.6\n", "203.0.113.6"},
		{"X-Forwarded-For: 2001:db8::1\r\n", "2001:db8::1"},
		// Garbage stops the walk at the last trusted address.
		{"X-Forwarded-For: 203.0.113.5, junk, 10.2.2.2\r\n", "10.2.2.2"},
		{"X-Forwarded-For: junk\r\n", "127.0.0.1"},
		// No header at all: the peer.
		{"Host: x\r\n", "127.0.0.1"},
		{"", "127.0.0.1"},
	}
	for _, c := range cases {
		if got := forwardedClient([]byte(c.headers), peer, proxies); got != netip.MustParseAddr(c.want) {
			t.Errorf("%q: client %v, want %s", c.headers, got, c.want)
		}
	}
}
