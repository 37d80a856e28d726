// Package sock opens the daemon's listening sockets from IP literals.
//
// The net package's string-addressed Listen and ListenPacket reach its DNS
// resolver (resolv.conf and nsswitch parsing, the DNS client and message
// codec), which the linker then keeps: about 0.4 MB of a mipsle binary that
// only ever binds literal addresses. On Linux this package makes the socket
// with system calls and hands it to the net package as a file, which links
// none of that; elsewhere it falls back to net.ListenConfig.
package sock

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// Options are socket options set before bind.
type Options struct {
	ReuseAddr bool // SO_REUSEADDR (TCP listeners always have it, as in net)
	ReusePort bool // SO_REUSEPORT
}

// endpoint is a parsed "host:port": an IP literal or an empty host, which
// means every address of both families on one dual-stack socket.
type endpoint struct {
	ap   netip.AddrPort
	dual bool
}

func parse(addr string) (endpoint, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return endpoint{}, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return endpoint{}, fmt.Errorf("port %q: not a number from 0 to 65535", p)
	}
	if host == "" {
		return endpoint{ap: netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port)), dual: true}, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return endpoint{}, fmt.Errorf("host %q: not an IP address", host)
	}
	return endpoint{ap: netip.AddrPortFrom(ip.Unmap(), uint16(port))}, nil
}

// ListenTCP listens on addr ("ip:port", "[ip6]:port" with IPV6_V6ONLY, or
// ":port" dual-stack).
func ListenTCP(addr string) (*net.TCPListener, error) {
	ep, err := parse(addr)
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	return listenTCP(ep)
}

// ListenUDP binds a UDP socket to addr, in the forms ListenTCP takes.
func ListenUDP(addr string, o Options) (*net.UDPConn, error) {
	ep, err := parse(addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	return listenUDP(ep, o)
}
