//go:build linux

package http

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawAcceptor is Serve's accept loop on Linux TCP listeners. Many clients
// open a connection per announce: one GET, one reply, close. For those the
// per-connection cost of the net package (a netFD registered with the poller,
// TCP_NODELAY and keep-alive setsockopts, getsockname, a goroutine,
// deadlines, tracking) is most of the CPU spent. So connections are accepted
// with raw accept4 and, when the whole request head is already readable, an
// announce or scrape is answered inline on the raw socket: one read, one
// write, one close. Everything else (no data yet, an incomplete head, other
// routes, keep-alive, pipelined input, a short write) continues on the usual
// per-connection goroutine with the bytes already read.
//
// Waiting for the next connection uses a duplicate of the listener's
// descriptor wrapped in an os.File, whose RawConn (unlike a listener's) can
// wait for readability in the runtime poller. Listeners prepared with
// DeferAccept queue a connection only once its request has arrived, so that
// nearly every one is answered inline. The duplicate would keep the socket
// listening after the caller closes the listener, so the wait has a
// deadline, and at each one the loop checks whether the listener is still
// open.
type rawAcceptor struct {
	s      *Server
	ln     *net.TCPListener
	lnRC   syscall.RawConn // ln's, to see whether it was closed
	file   *os.File        // the duplicate; closing it ends a wait
	rc     syscall.RawConn
	accept func(uintptr) bool // a.acceptFd, bound once
	rsa    unix.RawSockaddrAny
	fd     int
	err    syscall.Errno
}

// deferAcceptSeconds bounds how long the kernel keeps a connection that has
// sent nothing out of the accept queue; after that it is accepted anyway and
// IdleTimeout applies as usual.
const deferAcceptSeconds = 3

// DeferAccept sets TCP_DEFER_ACCEPT on a TCP listener: the kernel queues a
// connection only once the client has sent data (or after about 3 s). On
// loopback and LANs a client's GET otherwise often lands just after the
// accept, and that connection takes the slower goroutine path. Call it
// before clients connect; connections established earlier are not
// deferred. Other listeners are left alone.
func DeferAccept(ln net.Listener) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := rc.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAcceptSeconds)
	}); cerr != nil {
		return cerr
	}
	return os.NewSyscallError("setsockopt TCP_DEFER_ACCEPT", err)
}

// listenerCheck is how often a waiting accept loop checks that its listener
// was not closed behind the server's back.
const listenerCheck = time.Second

func (s *Server) newRawAcceptor(ln *net.TCPListener) *rawAcceptor {
	lnRC, err := ln.SyscallConn()
	if err != nil {
		return nil
	}
	f, err := ln.File() // shares the listener's O_NONBLOCK: pollable
	if err != nil {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	var serr error
	rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 1000})
		// Accepted sockets inherit TCP_CORK: an inline reply then waits in
		// the socket until close, which sends it with the FIN in one
		// segment instead of two. handOff uncorks. Best effort.
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, 1)
	})
	if serr != nil {
		f.Close()
		return nil // Serve uses Accept
	}
	a := &rawAcceptor{s: s, ln: ln, lnRC: lnRC, file: f, rc: rc}
	a.accept = a.acceptFd
	return a
}

// close ends the acceptor; a serve blocked in its wait returns.
func (a *rawAcceptor) close() { a.file.Close() }

// serve accepts and serves connections until the server closes or accept
// fails for good; it returns what Serve returns.
func (a *rawAcceptor) serve() error {
	s := a.s
	var backoff time.Duration
	a.file.SetReadDeadline(time.Now().Add(listenerCheck))
	for {
		if s.closing.Load() {
			return ErrServerClosed
		}
		if err := a.rc.Read(a.accept); err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if a.lnRC.Control(func(uintptr) {}) != nil {
					// As Accept on a closed listener reports it.
					return &net.OpError{Op: "accept", Net: "tcp", Addr: a.ln.Addr(), Err: net.ErrClosed}
				}
				a.file.SetReadDeadline(time.Now().Add(listenerCheck))
				continue
			}
			return err
		}
		switch a.err {
		case 0:
		case unix.ECONNABORTED:
			continue // as the net package: that client is gone, next
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			if !s.backoffAccept(&backoff, os.NewSyscallError("accept4", a.err)) {
				return ErrServerClosed
			}
			continue
		default:
			return os.NewSyscallError("accept4", a.err)
		}
		backoff = 0
		s.c.TCPAccepts.Add(1)
		peer := a.peer()
		cn := s.acquire(peer.Addr())
		if cn == nil {
			if s.closing.Load() {
				closeFd(a.fd)
				return ErrServerClosed
			}
			writeRaw(a.fd, []byte(refusal)) // non-blocking: best effort
			closeFd(a.fd)
			continue
		}
		if s.closing.Load() {
			closeFd(a.fd)
			s.table.release(cn)
			return ErrServerClosed
		}
		s.serveRaw(a.fd, peer, cn)
	}
}

// acceptFd is the RawConn.Read callback: one non-blocking accept4 into a's
// sockaddr buffer, so that accepting allocates nothing. It returns false,
// to wait for readability, only when the queue is empty. accept4 is a raw
// syscall like the inline path's: a plain one left sysmon waking every
// 20 µs to retake the P, 14 % of the server's CPU at one request per
// connection (perf, side by side). It relies on the listener's O_NONBLOCK,
// which every duplicate of the descriptor shares and which os.File.Fd
// would clear; SO_RCVTIMEO (set by newRawAcceptor) bounds a raw accept4 on
// a listener made blocking to a millisecond instead of holding the P until
// a client comes.
func (a *rawAcceptor) acceptFd(lfd uintptr) bool {
	for {
		n := uint32(unix.SizeofSockaddrAny)
		fd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, lfd, uintptr(unsafe.Pointer(&a.rsa)),
			uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		a.fd, a.err = int(fd), e
		return true
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

// serveRaw serves the freshly accepted non-blocking socket fd in the slot
// cn: inline when it can, else on a connection goroutine.
func (s *Server) serveRaw(fd int, peer netip.AddrPort, cn *conn) {
	n, err := readRaw(fd, cn.buf)
	if err != nil && err != unix.EAGAIN || err == nil && n == 0 {
		// Reset or closed before a request: nothing to answer.
		s.closeRaw(fd, cn)
		return
	}
	if n > 0 && !canStartRequest(cn.buf[0]) && cn.buf[0] != '\r' && cn.buf[0] != '\n' {
		// A TLS ClientHello or other binary: close at once.
		s.c.HTTPBadRequests.Add(1)
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
	rest := copy(cn.buf, cn.buf[hl:n]) // pipelined input or a body
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
	closeFd(fd)
	s.table.release(cn)
}

// The inline path's syscalls are raw: on the non-blocking sockets that
// accept4 created (and nothing else has seen yet) they do not block, and a plain syscall marks the P as in a syscall, which the
// runtime's sysmon then retakes and hands off when the call runs longer than
// its 20 µs tick, as TCP sends on loopback do (the receive side runs in the
// same call). With one request per connection that churn and sysmon's own
// wakeups cost a sixth of the server's CPU (perf, 2026-11-25).

func readRaw(fd int, b []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

func writeRaw(fd int, b []byte) (int, error) {
	sent := 0
	for sent < len(b) {
		rest := b[sent:]
		n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(rest))), uintptr(len(rest)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return sent, e
		}
		sent += int(n)
	}
	return sent, nil
}

// closeFd closes a socket without lingering (SO_LINGER is never set), so
// close does not block.
func closeFd(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
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
	// would wait for the previous one's ACK. Uncorking sends what the
	// inline path wrote.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_CORK, 0)
	// The socket is non-blocking, so the os package registers it with the
	// runtime poller: reads, writes and deadlines behave as on a net.Conn.
	nc := &rawConn{File: os.NewFile(uintptr(fd), "tcp"), peer: peer}
	cn.attach(s, nc, peer)
	if !s.track(cn) {
		nc.Close()
		s.table.release(cn)
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
			ok = cn.writeAll(big)
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
