//go:build linux

package sock

import (
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// listenBacklog is passed to listen(2); the kernel caps it at
// net.core.somaxconn, as for the net package's listeners.
const listenBacklog = 65535

// On Linux SO_REUSEPORT spreads datagrams over the sockets of a group by a
// hash of the source address, each socket with its own receive queue and
// lock: one receive loop per core without contention.
const reusePortSupported = true

// deferAcceptSeconds bounds how long the kernel keeps a connection that has
// sent nothing out of the accept queue; after that it is accepted anyway.
const deferAcceptSeconds = 3

func listenTCP(ep endpoint, o Options) (*net.TCPListener, error) {
	fd, err := bound(ep, unix.SOCK_STREAM, Options{ReuseAddr: true, ReusePort: o.ReusePort})
	if err != nil {
		return nil, err
	}
	if o.DeferAccept {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAcceptSeconds) // best effort
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ep.ap), Err: os.NewSyscallError("listen", err)}
	}
	f := os.NewFile(uintptr(fd), "tcp listener")
	defer f.Close() // FileListener holds a duplicate
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

func listenUDP(ep endpoint, o Options) (*net.UDPConn, error) {
	fd, err := bound(ep, unix.SOCK_DGRAM, o)
	if err != nil {
		return nil, err
	}
	if ep.ap.Addr().IsUnspecified() {
		// Bound to every address: have each packet say which one it was
		// sent to, so that the reply can leave from it (the UDP front
		// end's replyFrom). An IPv6 socket reports IPv4 packets too, with
		// the address v4-mapped; asking it for IP_PKTINFO as well would
		// add a second report that overrides the first when sent back.
		// Best effort: the kernel has both since 2.2.
		if d, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); d == unix.AF_INET {
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		} else {
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		}
	}
	f := os.NewFile(uintptr(fd), "udp socket")
	defer f.Close() // FilePacketConn holds a duplicate
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// bound returns a non-blocking socket of type typ bound to ep.
func bound(ep endpoint, typ int, o Options) (int, error) {
	family := unix.AF_INET6
	if ep.ap.Addr().Is4() {
		family = unix.AF_INET
	}
	opErr := func(op string, err error) error {
		a := net.Addr(net.UDPAddrFromAddrPort(ep.ap))
		n := "udp"
		if typ == unix.SOCK_STREAM {
			a, n = net.TCPAddrFromAddrPort(ep.ap), "tcp"
		}
		return &net.OpError{Op: "listen", Net: n, Addr: a, Err: os.NewSyscallError(op, err)}
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err == unix.EAFNOSUPPORT && ep.dual {
		// A kernel without IPv6: ":port" means IPv4's every address, as in
		// the net package.
		ep = endpoint{ap: netip.AddrPortFrom(netip.IPv4Unspecified(), ep.ap.Port())}
		family = unix.AF_INET
		fd, err = unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return -1, opErr("socket", err)
	}
	set := func(level, opt, v int) error { return unix.SetsockoptInt(fd, level, opt, v) }
	err = nil
	if o.ReuseAddr {
		err = set(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	if err == nil && o.ReusePort {
		err = set(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	if err == nil && family == unix.AF_INET6 {
		// A literal IPv6 address serves IPv6 only, so that it can sit beside
		// an IPv4 bind of the same port; an empty host serves both.
		v6only := 1
		if ep.dual {
			v6only = 0
		}
		err = set(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err != nil {
		unix.Close(fd)
		return -1, opErr("setsockopt", err)
	}
	if err := unix.Bind(fd, sockaddr(ep)); err != nil {
		unix.Close(fd)
		return -1, opErr("bind", err)
	}
	return fd, nil
}

func sockaddr(ep endpoint) unix.Sockaddr {
	a := ep.ap.Addr()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ep.ap.Port()), Addr: a.As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ep.ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else if n, err := strconv.Atoi(z); err == nil {
			sa.ZoneId = uint32(n)
		}
	}
	return sa
}
