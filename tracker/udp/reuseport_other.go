//go:build !linux

package udp

// Elsewhere SO_REUSEPORT does not balance load (BSD) or does not exist:
// one socket per bind.
const reusePortSupported = false
