package udp

import (
	"errors"
	"net"
	"time"
)

// complainer logs a loop's socket errors at most once a minute: a flood
// that makes sends fail must not turn into a flood of log lines.
type complainer struct {
	s    *Server
	c    *net.UDPConn
	last time.Time
}

func (l *complainer) complain(what string, err error) {
	if now := time.Now(); now.Sub(l.last) >= time.Minute {
		l.last = now
		l.s.logf("udp: %s on %v: %v", what, l.c.LocalAddr(), err)
	}
}

// loop reads, answers and writes one packet at a time until c is closed:
// the portable loop (loopBatch is faster on Linux). ReadFromUDPAddrPort and
// WriteToUDPAddrPort allocate nothing, unlike ReadFromUDP/WriteTo
// (golang/go#43451).
func (s *Server) loop(c *net.UDPConn) {
	w := newWorker(s)
	in := make([]byte, MaxPacket+1) // one spare byte detects packets longer than MaxPacket
	l := complainer{s: s, c: c}
	for {
		n, from, err := c.ReadFromUDPAddrPort(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (e.g. ENOMEM, a pending ICMP error): go on, but do
			// not spin if it persists.
			l.complain("read", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		reply := w.handle(in[:n], from)
		if reply == nil {
			continue
		}
		if _, err := c.WriteToUDPAddrPort(reply, from); err != nil {
			l.complain("write", err)
		}
	}
}
