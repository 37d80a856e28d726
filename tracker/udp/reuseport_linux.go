package udp

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// On Linux SO_REUSEPORT spreads datagrams over the sockets of a group by a
// hash of the source address, each socket with its own receive queue and
// lock: one receive loop per core without contention.
const reusePortSupported = true

func setReusePort(network, address string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
