package udp

import (
	"errors"
	"net"
	"time"
)

// loop reads, answers and writes one packet at a time until c is closed.
// ReadFromUDPAddrPort and WriteToUDPAddrPort allocate nothing, unlike
// ReadFromUDP/WriteTo (golang/go#43451).
func (s *Server) loop(c *net.UDPConn, w *worker) {
	var lastLog time.Time
	// Errors are logged at most once a minute per loop: a flood that makes
	// sends fail must not turn into a flood of log lines.
	complain := func(what string, err error) {
		if now := time.Now(); now.Sub(lastLog) >= time.Minute {
			lastLog = now
			s.logf("udp: %s on %v: %v", what, c.LocalAddr(), err)
		}
	}
	for {
		n, from, err := c.ReadFromUDPAddrPort(w.in[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (e.g. ENOMEM, a pending ICMP error): go on, but do
			// not spin if it persists.
			complain("read", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		reply := w.handle(w.in[:n], from)
		if reply == nil {
			continue
		}
		if _, err := c.WriteToUDPAddrPort(reply, from); err != nil {
			complain("write", err)
		}
	}
}
