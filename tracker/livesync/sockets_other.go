//go:build !linux

package livesync

import (
	"errors"
	"net"
	"net/netip"
)

func openSockets(netip.AddrPort, bool) (recv, send *net.UDPConn, err error) {
	return nil, nil, errors.New("live sync is only implemented on Linux")
}
