//go:build linux

package udp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/opentracker-go/opentracker/internal/netns"
)

// TestWildcardBindRepliesFromTheAddressWrittenTo: a server bound to every
// address (the package's default, 0.0.0.0 and [::]) on a host with several
// addresses answers from the one the client wrote to. The kernel would
// pick the source by the route back: a client at 127.0.0.1 writing to
// 127.0.0.2 got its reply from 127.0.0.1, and a connected socket (as
// libtorrent's checks it) drops such a reply. IPv4, IPv6, and both on one
// dual-stack socket (":p"), in a namespace the test makes, with two IPv6
// addresses on its loopback.
func TestWildcardBindRepliesFromTheAddressWrittenTo(t *testing.T) {
	var srv *Server
	var clients []*client
	netns.Run(t, func(ip func(...string)) {
		ip("addr", "add", "fd00::1/128", "dev", "lo", "nodad")
		ip("addr", "add", "fd00::2/128", "dev", "lo", "nodad")
	}, func() {
		srv, _ = newTestServer(t, Config{}, nil)
		for _, c := range []struct{ bind, from, to string }{
			{"0.0.0.0:0", "127.0.0.1", "127.0.0.2"},
			{"[::]:0", "fd00::1", "fd00::2"},
			{":0", "127.0.0.1", "127.0.0.2"}, // one dual-stack socket
			{":0", "fd00::1", "fd00::2"},
		} {
			bound, err := srv.Listen(c.bind)
			if err != nil {
				t.Fatal(err)
			}
			to := netip.AddrPortFrom(netip.MustParseAddr(c.to), bound.Port())
			conn, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(c.from), 0)), net.UDPAddrFromAddrPort(to))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			clients = append(clients, &client{t: t, conn: conn, to: to, connected: true})
		}
	})
	srv.Start()
	t.Cleanup(func() { srv.Close() })
	for _, c := range clients {
		// connect() fails the test when no reply reaches the connected
		// socket: one from another address is dropped by the kernel.
		id := c.connect()
		if r := c.announce(id, annArgs{hash: hashOf("pktinfo"), port: 6881, left: 1}); r.interval == 0 {
			t.Fatalf("%v: announce reply %+v", c.to, r)
		}
	}
}
