//go:build !linux

package sock

import "net"

// Elsewhere the net package binds, and Options are not applied: the callers
// that ask for them (the UDP server's SO_REUSEPORT groups, live sync, the
// HTTP listeners' TCP_DEFER_ACCEPT) only need them on Linux.

// reusePortSupported is false: ListenUDPGroup opens one socket.
const reusePortSupported = false

func listenTCP(ep endpoint, _ Options) (*net.TCPListener, error) {
	ln, err := net.Listen(network("tcp", ep), ep.ap.String())
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

func listenUDP(ep endpoint, _ Options) (*net.UDPConn, error) {
	pc, err := net.ListenPacket(network("udp", ep), ep.ap.String())
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
