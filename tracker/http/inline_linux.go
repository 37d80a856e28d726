//go:build linux

package http

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// inlineAcceptor is Serve's accept loop on Linux TCP listeners. Many clients
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
// wait for readability in the runtime poller. Listeners made with
// sock.Options.DeferAccept queue a connection only once its request has
// arrived, so that nearly every one is answered inline. The duplicate would keep the socket
// listening after the caller closes the listener, so the wait has a
// deadline, and at each one the loop checks whether the listener is still
// open.
type inlineAcceptor struct {
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

// listenerCheck is how often a waiting accept loop checks that its listener
// was not closed behind the server's back.
const listenerCheck = time.Second

func (s *Server) newInlineAcceptor(ln *net.TCPListener) *inlineAcceptor {
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
	a := &inlineAcceptor{s: s, ln: ln, lnRC: lnRC, file: f, rc: rc}
	a.accept = a.acceptFd
	return a
}

// close ends the acceptor; a serve blocked in its wait returns.
func (a *inlineAcceptor) close() { a.file.Close() }

// serve accepts and serves connections until the server closes or accept
// fails for good; it returns what Serve returns.
func (a *inlineAcceptor) serve() error {
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
				sysClose(a.fd)
				return ErrServerClosed
			}
			sysWrite(a.fd, []byte(refusal)) // non-blocking: best effort
			sysClose(a.fd)
			continue
		}
		if s.closing.Load() {
			sysClose(a.fd)
			s.table.release(cn)
			return ErrServerClosed
		}
		s.serveInline(a.fd, peer, cn)
	}
}

// acceptFd is the RawConn.Read callback: one non-blocking accept4 into a's
// sockaddr buffer, so that accepting allocates nothing. It returns false,
// to wait for readability, only when the queue is empty. accept4 is a raw
// syscall like the inline path's: a plain one left sysmon waking every
// 20 µs to retake the P, 14 % of the server's CPU at one request per
// connection (perf, side by side). It relies on the listener's O_NONBLOCK,
// which every duplicate of the descriptor shares and which os.File.Fd
// would clear; SO_RCVTIMEO (set by newInlineAcceptor) bounds a raw accept4 on
// a listener made blocking to a millisecond instead of holding the P until
// a client comes.
func (a *inlineAcceptor) acceptFd(lfd uintptr) bool {
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

// peer is the unmapped client address of the last accepted connection,
// with its IPv6 zone, as the net package reports it.
func (a *inlineAcceptor) peer() netip.AddrPort {
	ap := sock.AddrPort(&a.rsa)
	if id := sock.ScopeID(&a.rsa); id != 0 && !ap.Addr().Is4() {
		ap = netip.AddrPortFrom(ap.Addr().WithZone(sock.ZoneName(int(id))), ap.Port())
	}
	return ap
}

// serveInline serves the freshly accepted non-blocking socket fd in the
// slot cn: inline when its first request is complete and small to answer,
// else on a connection goroutine.
func (s *Server) serveInline(fd int, peer netip.AddrPort, cn *conn) {
	n, err := sysRead(fd, cn.buf)
	if err != nil && err != unix.EAGAIN || err == nil && n == 0 {
		// Reset or closed before a request: nothing to answer.
		s.closeInline(fd, cn)
		return
	}
	if n > 0 && !canStartRequest(cn.buf[0]) && cn.buf[0] != '\r' && cn.buf[0] != '\n' {
		// A TLS ClientHello or other binary: close at once.
		s.c.HTTPBadRequests.Add(1)
		s.closeInline(fd, cn)
		return
	}
	hl := -1
	if n > 0 && cn.buf[0] != '\r' && cn.buf[0] != '\n' {
		hl = headerEnd(cn.buf[:n])
	}
	var r request
	var rt route
	if hl >= 0 {
		rt = s.route(cn.buf[:hl], &r)
	}
	if hl < 0 || !rt.small() {
		s.handOff(fd, peer, cn, pending{end: n})
		return
	}
	w := getWork()
	big, keep := s.answer(w, &r, rt, peer)
	rest := copy(cn.buf, cn.buf[hl:n]) // pipelined input or a body
	if big != nil {
		s.handOff(fd, peer, cn, pending{w: w, big: big, end: rest, served: true, keep: keep})
		return
	}
	s.inlineAnswers.Add(1)
	sent, err := sysWrite(fd, w.out)
	if err != nil && err != unix.EAGAIN {
		putWork(w)
		s.closeInline(fd, cn) // as a failed Write: close
		return
	}
	if sent < len(w.out) {
		s.handOff(fd, peer, cn, pending{w: w, sent: sent, end: rest, served: true, keep: keep})
		return
	}
	putWork(w)
	if keep && !s.closing.Load() || rest > 0 {
		// More requests may come, or unread input wants a lingering
		// close rather than a reset that could destroy the reply.
		s.handOff(fd, peer, cn, pending{end: rest, served: true, keep: keep})
		return
	}
	s.closeInline(fd, cn)
}

func (s *Server) closeInline(fd int, cn *conn) {
	sysClose(fd)
	s.table.release(cn)
}

// The inline path's syscalls are raw: on the non-blocking sockets that
// accept4 created (and nothing else has seen yet) they do not block, and a
// plain syscall marks the P as in a syscall, which the runtime's sysmon then
// retakes and hands off when the call runs longer than its 20 µs tick, as
// TCP sends on loopback do (the receive side runs in the same call). With
// one request per connection that churn and sysmon's own wakeups cost a
// sixth of the server's CPU (measured with perf).

func sysRead(fd int, b []byte) (int, error) {
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

func sysWrite(fd int, b []byte) (int, error) {
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
func sysClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

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
