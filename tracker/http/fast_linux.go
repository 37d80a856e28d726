//go:build linux

package http

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawAcceptor is Serve's fast path on Linux TCP listeners. Many clients open
// a connection per announce: one GET, one reply, close. For those the
// per-connection cost of the net package (a netFD registered with the poller,
// TCP_NODELAY and keep-alive setsockopts, getsockname, a goroutine,
// deadlines, tracking) is most of the CPU spent. So while connections are
// queued they are accepted with raw accept4 and, when the whole request head
// is already readable, an announce or scrape is answered inline on the raw
// socket: one read, one write, one close. Everything else (no data yet, an
// incomplete head, other routes, keep-alive, pipelined input, a short write)
// continues on the usual per-connection goroutine with the bytes already
// read. With the queue empty, Serve blocks in the listener's Accept as
// before (a listener's RawConn cannot wait for readability), which also
// keeps Accept's handling of errors and of a closed listener.
type rawAcceptor struct {
	s      *Server
	rc     syscall.RawConn
	accept func(uintptr) // a.acceptFd, bound once
	rsa    unix.RawSockaddrAny
	fd     int
	err    syscall.Errno
}

func (s *Server) newRawAcceptor(ln *net.TCPListener) *rawAcceptor {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil
	}
	a := &rawAcceptor{s: s, rc: rc}
	a.accept = a.acceptFd
	return a
}

// acceptQueued serves the connections queued on the listener. done reports
// that Serve must return err; otherwise the queue is empty (or accept4 failed
// and Accept is left to report it) and Serve should block in Accept.
func (a *rawAcceptor) acceptQueued() (err error, done bool) {
	s := a.s
	for {
		if s.closing.Load() {
			return ErrServerClosed, true
		}
		if a.rc.Control(a.accept) != nil {
			return nil, false // closed: Accept reports it
		}
		switch a.err {
		case 0:
		case unix.ECONNABORTED:
			continue // as the net package: that client is gone, next
		default:
			return nil, false // EAGAIN: wait in Accept; others: Accept handles them
		}
		s.c.TCPAccepts.Add(1)
		if s.slots != nil && !s.takeSlot() {
			unix.Close(a.fd)
			return ErrServerClosed, true
		}
		if s.closing.Load() {
			unix.Close(a.fd)
			s.freeSlot()
			return ErrServerClosed, true
		}
		s.serveRaw(a.fd, a.peer())
	}
}

// acceptFd is the RawConn.Control callback: one non-blocking accept4 into
// a's sockaddr buffer, so that accepting allocates nothing.
func (a *rawAcceptor) acceptFd(lfd uintptr) {
	for {
		n := uint32(unix.SizeofSockaddrAny)
		fd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, lfd, uintptr(unsafe.Pointer(&a.rsa)),
			uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e != unix.EINTR {
			a.fd, a.err = int(fd), e
			return
		}
	}
}

// peer is the unmapped client address of the last accepted connection.
func (a *rawAcceptor) peer() netip.AddrPort {
	switch a.rsa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), ntohs(p.Port))
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.rsa))
		ip := netip.AddrFrom16(p.Addr)
		if p.Scope_id != 0 && !ip.Is4In6() {
			ip = ip.WithZone(zoneName(int(p.Scope_id)))
		}
		return netip.AddrPortFrom(ip.Unmap(), ntohs(p.Port))
	}
	return netip.AddrPort{}
}

func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// zoneName names an IPv6 scope as the net package does.
func zoneName(index int) string {
	if ifi, err := net.InterfaceByIndex(index); err == nil {
		return ifi.Name
	}
	return strconv.Itoa(index)
}

// serveRaw serves the freshly accepted non-blocking socket fd, whose slot is
// taken: inline when it can, else on a connection goroutine.
func (s *Server) serveRaw(fd int, peer netip.AddrPort) {
	cn := connPool.Get().(*conn)
	n, err := readRaw(fd, cn.buf[:])
	if err != nil && err != unix.EAGAIN || err == nil && n == 0 {
		// Reset or closed before a request: nothing to answer.
		s.closeRaw(fd, cn)
		return
	}
	hl := -1
	if n > 0 && cn.buf[0] != '\r' && cn.buf[0] != '\n' {
		hl = headerEnd(cn.buf[:n])
	}
	if hl < 0 || !s.fastRoute(cn.buf[:hl]) {
		s.handOff(fd, peer, cn, nil, 0, nil, n, false, false)
		return
	}
	w := getWork()
	big, keep := s.respond(w, cn.buf[:hl], peer)
	rest := copy(cn.buf[:], cn.buf[hl:n]) // pipelined input or a body
	if big != nil {
		s.handOff(fd, peer, cn, w, 0, big, rest, true, keep)
		return
	}
	s.inline.Add(1)
	sent, err := writeRaw(fd, w.out)
	if err != nil && err != unix.EAGAIN {
		putWork(w)
		s.closeRaw(fd, cn) // as a failed Write: close
		return
	}
	if sent < len(w.out) {
		s.handOff(fd, peer, cn, w, sent, nil, rest, true, keep)
		return
	}
	putWork(w)
	if keep && !s.closing.Load() || rest > 0 {
		// More requests may come, or unread input wants a lingering
		// close rather than a reset that could destroy the reply.
		s.handOff(fd, peer, cn, nil, 0, nil, rest, true, keep)
		return
	}
	s.closeRaw(fd, cn)
}

func (s *Server) closeRaw(fd int, cn *conn) {
	unix.Close(fd)
	s.freeSlot()
	connPool.Put(cn)
}

func readRaw(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}

func writeRaw(fd int, b []byte) (int, error) {
	sent := 0
	for sent < len(b) {
		n, err := unix.Write(fd, b[sent:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return sent, err
		}
		sent += n
	}
	return sent, nil
}

// fastRoute reports whether the request head is a GET of an announce or a
// query scrape with a plain (not %-encoded) path: the routes with small
// replies worth answering inline. The check is on the raw bytes because
// parsing decodes the path in place.
func (s *Server) fastRoute(head []byte) bool {
	if len(head) < 6 || string(head[:5]) != "GET /" {
		return false
	}
	t := head[4:]
	end, q := len(t), -1
	for i, c := range t {
		if c == ' ' || c == '\r' || c == '\n' {
			end = i
			break
		}
		if c == '?' && q < 0 {
			q = i
		}
		if c == '%' && q < 0 {
			return false
		}
	}
	p := t[:end]
	if q >= 0 {
		p = t[:q]
	}
	switch {
	case string(p) == s.cfg.StatsPath:
		return false
	case len(p) >= 2 && p[1] == 'a':
		return true
	case len(p) >= 3 && p[1] == 's' && p[2] == 'c':
		return q >= 0 && q+1 < end // not a full scrape
	}
	return false
}

// handOff continues the raw socket fd on a connection goroutine, as if the
// net package had accepted it. cn.buf[:end] is input already read. When
// served, a request was answered and keep tells whether the connection
// stays open; w, if not nil, holds the reply (w.out from sent on, then big)
// still to be written.
func (s *Server) handOff(fd int, peer netip.AddrPort, cn *conn, w *work, sent int, big []byte, end int, served, keep bool) {
	// Replies are one write each; without TCP_NODELAY a pipelined reply
	// would wait for the previous one's ACK.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	// The socket is non-blocking, so the os package registers it with the
	// runtime poller: reads, writes and deadlines behave as on a net.Conn.
	nc := &rawConn{File: os.NewFile(uintptr(fd), "tcp"), peer: peer}
	cn.srv, cn.nc, cn.peer = s, nc, peer
	cn.idle.Store(false)
	if !s.track(cn) {
		nc.Close()
		s.freeSlot()
		putConn(cn)
		if w != nil {
			putWork(w)
		}
		return
	}
	go cn.resume(w, sent, big, end, served, keep)
}

// resume finishes what serveRaw started and then serves the connection.
func (cn *conn) resume(w *work, sent int, big []byte, end int, served, keep bool) {
	s := cn.srv
	if w != nil {
		ok := cn.send(w.out[sent:])
		if ok && big != nil {
			cn.nc.SetWriteDeadline(deadlineFor(len(big), s.cfg.IdleTimeout))
			_, err := cn.nc.Write(big)
			ok = err == nil
		}
		putWork(w)
		keep = keep && ok
		if !ok {
			end = 0 // as serve: a failed write closes at once
		}
	}
	if served && (!keep || s.closing.Load()) {
		if end > 0 {
			cn.lingeringClose()
		}
		cn.nc.Close()
		s.untrack(cn)
		putConn(cn)
		return
	}
	cn.serveFrom(end, served)
}

// rawConn is a net.Conn on a raw TCP socket wrapped in an os.File.
type rawConn struct {
	*os.File
	peer netip.AddrPort
}

func (c *rawConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.peer) }

func (c *rawConn) LocalAddr() net.Addr {
	var a net.Addr = &net.TCPAddr{}
	if sc, err := c.File.SyscallConn(); err == nil {
		sc.Control(func(fd uintptr) {
			switch sa, _ := unix.Getsockname(int(fd)); sa := sa.(type) {
			case *unix.SockaddrInet4:
				a = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
			case *unix.SockaddrInet6:
				a = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port, Zone: zoneName(int(sa.ZoneId))}
			}
		})
	}
	return a
}

// CloseWrite shuts down the sending side, for lingeringClose.
func (c *rawConn) CloseWrite() error {
	sc, err := c.File.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := sc.Control(func(fd uintptr) { err = unix.Shutdown(int(fd), unix.SHUT_WR) }); cerr != nil {
		return cerr
	}
	return err
}
