//go:build !linux

package sock

import (
	"context"
	"net"
	"syscall"
)

// Elsewhere the net package binds; only the options are set here.

func listenTCP(ep endpoint) (*net.TCPListener, error) {
	ln, err := net.Listen(network("tcp", ep), ep.ap.String())
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

func listenUDP(ep endpoint, o Options) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if o.ReuseAddr {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network("udp", ep), ep.ap.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func network(proto string, ep endpoint) string {
	switch {
	case ep.dual:
		return proto
	case ep.ap.Addr().Is4():
		return proto + "4"
	}
	return proto + "6"
}
