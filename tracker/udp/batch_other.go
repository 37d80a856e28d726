//go:build !linux

package udp

import "net"

// loopBatch: no recvmmsg here; the plain loop serves.
func (s *Server) loopBatch(c *net.UDPConn) bool { return false }
