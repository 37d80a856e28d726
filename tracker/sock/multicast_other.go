//go:build !linux

package sock

import (
	"errors"
	"net"
	"net/netip"
)

// ListenMulticast is only implemented on Linux.
func ListenMulticast(netip.Addr, netip.AddrPort, bool) (recv, send *net.UDPConn, err error) {
	return nil, nil, errors.New("multicast sockets are only implemented on Linux")
}
