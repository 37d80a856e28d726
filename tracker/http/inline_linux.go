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

// inlineAcceptor is Serve's loop on Linux TCP listeners. Many clients open
// a connection per announce: one GET, one reply, close. Others keep one
// connection and send an announce every few minutes. For both, the
// per-connection and per-request cost of the net package (a netFD
// registered with the poller, TCP_NODELAY and keep-alive setsockopts,
// getsockname, a goroutine, a read and a write deadline per request) is
// most of the CPU spent. So connections are accepted with raw accept4 and,
// when the whole request head is already readable, an announce or scrape
// is answered inline on the raw socket: one read, one write. A connection
// that stays open is then parked in the acceptor's epoll set (park_linux.go)
// and its next requests are answered the same way, by the same loop.
// Everything else (no data yet, an incomplete head, other routes, pipelined
// input, a short write) continues on the usual per-connection goroutine
// with the bytes already read.
//
// The loop waits for its epoll set, which holds a duplicate of the
// listener's descriptor and the parked connections, in the runtime poller
// (an epoll descriptor is itself pollable), so the process's other
// goroutines keep running while it waits. Listeners made with
// sock.Options.DeferAccept queue a connection only once its request has
// arrived, so that nearly every one is answered inline. The duplicate
// would keep the socket listening after the caller closes the listener, so
// the wait has a deadline, and at each one the loop checks whether the
// listener is still open and closes parked connections idle for longer
// than IdleTimeout.
type inlineAcceptor struct {
	s      *Server
	ln     *net.TCPListener
	lnRC   syscall.RawConn // ln's, to see whether it was closed
	dup    *os.File        // the duplicate of ln's descriptor, in the epoll set
	lfd    int             // dup's descriptor
	accept func(uintptr) bool
	rsa    unix.RawSockaddrAny
	fd     int
	err    syscall.Errno

	parking
}

// listenerCheck is how often a waiting loop checks that its listener was
// not closed behind the server's back (and sweeps idle connections).
const listenerCheck = time.Second

// acceptBurst bounds the connections taken per readiness of the listener,
// so that parked connections are served between bursts.
const acceptBurst = 16

func (s *Server) newInlineAcceptor(ln *net.TCPListener) *inlineAcceptor {
	lnRC, err := ln.SyscallConn()
	if err != nil {
		return nil
	}
	f, err := ln.File() // shares the listener's O_NONBLOCK
	if err != nil {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	a := &inlineAcceptor{s: s, ln: ln, lnRC: lnRC, dup: f}
	var serr error
	rc.Control(func(fd uintptr) {
		a.lfd = int(fd)
		serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 1000})
		// Accepted sockets inherit TCP_CORK: an inline reply then waits in
		// the socket until close, which sends it with the FIN in one
		// segment instead of two. Parking and handOff uncork. Best effort.
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, 1)
	})
	if serr == nil {
		serr = a.parking.init(a.lfd, len(s.table.all))
	}
	if serr != nil {
		f.Close()
		return nil // Serve uses Accept
	}
	a.accept = a.acceptFd
	return a
}

// close ends the loop: a wait returns at once, and the loop sees that the
// server is closing. (Closing the epoll descriptor here instead could
// close it under the loop's raw epoll_ctl calls.)
func (a *inlineAcceptor) close() { a.ep.SetReadDeadline(time.Unix(1, 0)) }

// serve accepts and serves connections until the server closes or accept
// fails for good; it returns what Serve returns. On the way out it closes
// the parked connections, the epoll set and the duplicate.
func (a *inlineAcceptor) serve() error {
	defer a.dup.Close()
	defer a.closeAll()
	s := a.s
	a.ep.SetReadDeadline(time.Now().Add(a.tick()))
	for {
		if s.closing.Load() {
			return ErrServerClosed
		}
		if err := a.epRC.Read(a.poll); err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				return err
			}
			if a.lnRC.Control(func(uintptr) {}) != nil {
				// As Accept on a closed listener reports it.
				return &net.OpError{Op: "accept", Net: "tcp", Addr: a.ln.Addr(), Err: net.ErrClosed}
			}
			a.sweep()
			a.ep.SetReadDeadline(time.Now().Add(a.tick()))
			continue
		}
		a.now = s.table.now() // one clock reading per batch of events
		a.yield.Batch()
		for a.next = 0; a.next < a.ready; {
			ev := a.events[a.next]
			a.next++
			switch {
			case ev.Pad == listenerSlot:
				if err := a.acceptSome(); err != nil {
					return err
				}
			case ev.Pad >= 0:
				a.serveParked(&s.table.all[ev.Pad])
			}
		}
	}
}

// acceptSome takes up to acceptBurst connections from the listener and
// serves each. A non-nil error ends Serve.
func (a *inlineAcceptor) acceptSome() error {
	s := a.s
	var backoff time.Duration
	for i := 0; i < acceptBurst; i++ {
		if !a.accept(uintptr(a.lfd)) {
			return nil // queue empty
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
		cn := s.acquire(peer.Addr(), a)
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
		s.serveInline(a.fd, peer, cn, a)
	}
	return nil
}

// acceptFd takes one connection with a non-blocking accept4 into a's
// sockaddr buffer, so that accepting allocates nothing. It returns false
// only when the queue is empty. accept4 is a raw syscall like the inline
// path's: a plain one left sysmon waking every 20 µs to retake the P, 14 %
// of the server's CPU at one request per connection (perf, side by side).
// It relies on the listener's O_NONBLOCK, which every duplicate of the
// descriptor shares and which os.File.Fd would clear; SO_RCVTIMEO (set by
// newInlineAcceptor) bounds a raw accept4 on a listener made blocking to a
// millisecond instead of holding the P until a client comes.
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
// else on a connection goroutine. A connection that stays open is parked
// in a, or handed to a goroutine when a is nil.
func (s *Server) serveInline(fd int, peer netip.AddrPort, cn *conn, a *inlineAcceptor) {
	n, err := sysRead(fd, cn.buf)
	if err == unix.EAGAIN {
		s.handOff(fd, peer, cn, pending{}) // the request has not arrived yet
		return
	}
	if err != nil || n == 0 {
		// Reset or closed before a request: nothing to answer.
		s.closeRaw(fd, cn, nil)
		return
	}
	s.serveRaw(fd, peer, cn, n, a, false)
}

// serveRaw answers the request in cn.buf[:n], just read from the raw
// socket fd, which is new or (parked) a keep-alive connection parked in a.
// Whatever cannot be answered with one read and one write goes on to a
// connection goroutine; a connection that stays open is (again) parked.
func (s *Server) serveRaw(fd int, peer netip.AddrPort, cn *conn, n int, a *inlineAcceptor, parked bool) {
	var in *inlineAcceptor // a, when cn is parked in it
	if parked {
		in = a
	}
	if !canStartRequest(cn.buf[0]) && cn.buf[0] != '\r' && cn.buf[0] != '\n' {
		// A TLS ClientHello or other binary: close at once.
		s.c.HTTPBadRequests.Add(1)
		s.closeRaw(fd, cn, in)
		return
	}
	hl := -1
	if cn.buf[0] != '\r' && cn.buf[0] != '\n' {
		hl = headerEnd(cn.buf[:n])
	}
	var r request
	var rt route
	if hl >= 0 {
		rt = s.route(cn.buf[:hl], &r)
	}
	if hl < 0 || !rt.small() {
		if parked && hl < 0 {
			cn.replied = s.table.epoch.Add(time.Duration(cn.since.Load()))
		}
		s.handOffRaw(fd, peer, cn, in, pending{end: n, served: parked, keep: parked})
		return
	}
	w := getWork()
	big, keep := s.answer(w, &r, rt, peer)
	rest := copy(cn.buf, cn.buf[hl:n]) // pipelined input or a body
	if big != nil {
		s.handOffRaw(fd, peer, cn, in, pending{w: w, big: big, end: rest, served: true, keep: keep})
		return
	}
	s.inlineAnswers.Add(1)
	sent, err := sysWrite(fd, w.out)
	if err != nil && err != unix.EAGAIN {
		putWork(w)
		s.closeRaw(fd, cn, in) // as a failed Write: close
		return
	}
	if sent < len(w.out) {
		s.handOffRaw(fd, peer, cn, in, pending{w: w, sent: sent, end: rest, served: true, keep: keep})
		return
	}
	putWork(w)
	switch {
	case keep && rest == 0 && a != nil && !s.closing.Load():
		a.park(fd, peer, cn, parked)
	case keep && !s.closing.Load() || rest > 0:
		// More requests may come, or unread input wants a lingering
		// close rather than a reset that could destroy the reply.
		s.handOffRaw(fd, peer, cn, in, pending{end: rest, served: true, keep: keep})
	default:
		s.closeRaw(fd, cn, in)
	}
}

// closeRaw closes the raw socket fd and frees its slot cn, first taking
// it out of the acceptor it is parked in, if any.
func (s *Server) closeRaw(fd int, cn *conn, parkedIn *inlineAcceptor) {
	if parkedIn != nil {
		parkedIn.unpark(cn, fd, false)
	}
	sysClose(fd)
	s.table.release(cn)
}

// handOffRaw is handOff for a socket that may be parked in an acceptor.
func (s *Server) handOffRaw(fd int, peer netip.AddrPort, cn *conn, parkedIn *inlineAcceptor, p pending) {
	if parkedIn != nil {
		parkedIn.unpark(cn, fd, true)
	}
	s.handOff(fd, peer, cn, p)
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

// sysClose closes a socket without lingering (SO_LINGER is never set), so
// close does not block.
func sysClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}
