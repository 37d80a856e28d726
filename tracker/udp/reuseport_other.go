//go:build !linux

package udp

import "syscall"

// Elsewhere SO_REUSEPORT does not balance load (BSD) or does not exist:
// one socket per bind.
const reusePortSupported = false

func setReusePort(network, address string, rc syscall.RawConn) error { return nil }
