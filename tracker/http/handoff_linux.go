//go:build linux

package http

import (
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// pending is what the inline path leaves to a connection goroutine.
type pending struct {
	w      *work  // if not nil, its reply is still to be written: w.out from sent on, then big
	sent   int    // bytes of w.out already written
	big    []byte // a body too big to copy into w.out
	end    int    // cn.buf[:end] is input already read
	served bool   // a request was answered on the connection
	keep   bool   // when served: the connection stays open
}

// handOff continues the socket fd on a connection goroutine, as if the net
// package had accepted it, with what the inline path left in p.
func (s *Server) handOff(fd int, peer netip.AddrPort, cn *conn, p pending) {
	// Replies are one write each; without TCP_NODELAY a pipelined reply
	// would wait for the previous one's ACK. Uncorking sends what the
	// inline path wrote.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_CORK, 0)
	// The socket is non-blocking, so the os package registers it with the
	// runtime poller: reads, writes and deadlines behave as on a net.Conn.
	nc := &fdConn{File: os.NewFile(uintptr(fd), "tcp"), peer: peer}
	cn.attach(s, nc, peer)
	if !s.track(cn) {
		nc.Close()
		s.table.release(cn)
		if p.w != nil {
			putWork(p.w)
		}
		return
	}
	go cn.resume(p)
}

// resume finishes what serveInline started and then serves the connection.
func (cn *conn) resume(p pending) {
	s := cn.srv
	if p.w != nil {
		ok := cn.send(p.w.out[p.sent:])
		if ok && p.big != nil {
			cn.nc.SetWriteDeadline(deadlineFor(len(p.big), s.conf().IdleTimeout))
			ok = cn.writeAll(p.big)
		}
		putWork(p.w)
		p.keep = p.keep && ok
		if !ok {
			p.end = 0 // as serve: a failed write closes at once
		}
	}
	if p.served && (!p.keep || s.closing.Load()) {
		if p.end > 0 {
			cn.lingeringClose()
		}
		cn.nc.Close()
		s.untrack(cn)
		return
	}
	cn.serveFrom(p.end, p.served)
}

// fdConn is a net.Conn on an accepted TCP socket wrapped in an os.File.
type fdConn struct {
	*os.File
	peer netip.AddrPort
}

func (c *fdConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.peer) }

func (c *fdConn) LocalAddr() net.Addr {
	var a net.Addr = &net.TCPAddr{}
	if sc, err := c.File.SyscallConn(); err == nil {
		sc.Control(func(fd uintptr) {
			switch sa, _ := unix.Getsockname(int(fd)); sa := sa.(type) {
			case *unix.SockaddrInet4:
				a = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
			case *unix.SockaddrInet6:
				a = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port, Zone: sock.ZoneName(int(sa.ZoneId))}
			}
		})
	}
	return a
}

// CloseWrite shuts down the sending side, for lingeringClose.
func (c *fdConn) CloseWrite() error {
	sc, err := c.File.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := sc.Control(func(fd uintptr) { err = unix.Shutdown(int(fd), unix.SHUT_WR) }); cerr != nil {
		return cerr
	}
	return err
}
