// Package sock is where the tracker's sockets are made and spoken to at the
// system call level: listening TCP and UDP sockets from IP literals, bound
// the same way (ListenTCP, ListenUDP), SO_REUSEPORT groups (ListenUDPGroup),
// TCP_DEFER_ACCEPT, live sync's multicast pair (ListenMulticast), and on
// Linux the kernel's socket addresses (AddrPort) and recvmmsg/sendmmsg
// batches (RecvMmsg, SendMmsg), used by the UDP front end and cmd/otbench.
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
	// DeferAccept (TCP, Linux) sets TCP_DEFER_ACCEPT: the kernel queues a
	// connection only once the client has sent data (or after about 3 s).
	// On loopback and LANs a client's GET otherwise often lands just after
	// the accept, and that connection misses the HTTP front end's inline
	// path. Best effort: a kernel without it only serves such clients more
	// slowly.
	DeferAccept bool
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
func ListenTCP(addr string, o Options) (*net.TCPListener, error) {
	ep, err := parse(addr)
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	return listenTCP(ep, o)
}

// ListenUDP binds a UDP socket to addr, in the forms ListenTCP takes.
func ListenUDP(addr string, o Options) (*net.UDPConn, error) {
	ep, err := parse(addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	return listenUDP(ep, o)
}

// ListenUDPGroup opens n sockets on one address. With n > 1, where
// SO_REUSEPORT exists, they share it and the kernel spreads clients over
// them by address hash; the port is first bound without it, so that a port
// already served by another process (even our own, same user) is an error
// instead of a silent split of its traffic. It returns the bound address,
// which tells the port when addr asks for port 0.
func ListenUDPGroup(addr string, n int) ([]*net.UDPConn, netip.AddrPort, error) {
	if n <= 1 || !reusePortSupported {
		c, err := ListenUDP(addr, Options{})
		if err != nil {
			return nil, netip.AddrPort{}, err
		}
		return []*net.UDPConn{c}, c.LocalAddr().(*net.UDPAddr).AddrPort(), nil
	}
	probe, err := ListenUDP(addr, Options{})
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	// Port 0: keep the kernel's choice for the whole group.
	host, _, _ := net.SplitHostPort(addr)
	port := probe.LocalAddr().(*net.UDPAddr).Port
	addr = net.JoinHostPort(host, strconv.Itoa(port))
	probe.Close()

	conns := make([]*net.UDPConn, 0, n)
	for i := 0; i < n; i++ {
		c, err := ListenUDP(addr, Options{ReusePort: true})
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, netip.AddrPort{}, err
		}
		conns = append(conns, c)
	}
	return conns, conns[0].LocalAddr().(*net.UDPAddr).AddrPort(), nil
}
