//go:build linux

package http

import (
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// parking holds an inline acceptor's keep-alive connections between
// requests: their sockets are in the acceptor's epoll set, and a request
// that arrives on one is answered by the acceptor's loop with a raw read
// and a raw write, as a new connection's first request is. Served by a
// goroutine, each keep-alive request cost the runtime poller's park and
// wake-up and a read and a write deadline (timer updates, and on 32-bit
// MIPS, which has no vDSO, clock_gettime system calls): under qemu's MIPS
// 24Kf that made a keep-alive reply twice as dear as a new connection's.
//
// A parked connection is stIdle in the connection table, since its last
// reply. The idle timeout is a sweep at each of the loop's ticks (a
// quarter of IdleTimeout, at most listenerCheck), not a timer per request.
// The table evicts a parked connection by shutting its socket down
// (wakeParked), which the loop sees as the end of the connection.
type parking struct {
	ep     *os.File // the epoll descriptor, waited on in the runtime poller
	epRC   syscall.RawConn
	epfd   int
	events [64]unix.EpollEvent
	ready  int          // events from the last epoll_wait
	next   int          // the next of them to handle
	now    int64        // the table clock at the last epoll_wait
	yield  sock.Yielder // a busy loop yields now and then (see sock.Yielder)
	conns  []*conn      // parked connections; conn.parkPos is the index
	poll   func(uintptr) bool
	ev     unix.EpollEvent // epoll_ctl's argument, here so that it does not escape per call
}

// Epoll data (EpollEvent.Pad) is a connection's slot number, or:
const (
	listenerSlot = -1 // the listener
	staleSlot    = -2 // an event of a connection that left during the batch
)

// init makes the epoll set, with the listening socket lfd in it, for
// connections of a table of slots slots.
func (p *parking) init(lfd, slots int) error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	p.ev = unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(lfd), Pad: listenerSlot}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, lfd, &p.ev); err != nil {
		unix.Close(epfd)
		return err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return err
	}
	// Non-blocking, so os registers it with the runtime poller.
	p.ep = os.NewFile(uintptr(epfd), "epoll")
	if p.epRC, err = p.ep.SyscallConn(); err != nil {
		p.ep.Close()
		return err
	}
	p.epfd = epfd
	p.conns = make([]*conn, 0, slots) // never grows on a request
	p.poll = p.wait
	return nil
}

// wait is the RawConn.Read callback: epoll_wait without waiting. It
// returns false, to wait in the runtime poller, only when nothing is
// ready. Raw, like the inline path's other syscalls.
func (p *parking) wait(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&p.events[0])),
			uintptr(len(p.events)), 0, 0, 0)
		switch e {
		case 0:
			p.ready, p.next = int(n), 0
			return n > 0
		case unix.EINTR:
			continue
		default:
			// Not for an epoll descriptor this loop made; wait and
			// let the deadline's checks decide.
			p.ready = 0
			return false
		}
	}
}

// tick is the loop's deadline interval: the listener check, and the sweep
// of idle connections often enough to close them within about a quarter
// of IdleTimeout of its end.
func (a *inlineAcceptor) tick() time.Duration {
	return min(listenerCheck, max(a.s.conf().IdleTimeout/4, 5*time.Millisecond))
}

// park keeps the open connection fd (slot cn) in the epoll set until its
// next request; again tells that it is there already.
func (a *inlineAcceptor) park(fd int, peer netip.AddrPort, cn *conn, again bool) {
	if !again {
		// Replies are one write each. Uncorking sends the first one,
		// written under the listener's inherited cork.
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_CORK, 0)
		a.ev = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd), Pad: cn.slot}
		if unix.EpollCtl(a.epfd, unix.EPOLL_CTL_ADD, fd, &a.ev) != nil {
			a.s.handOff(fd, peer, cn, pending{served: true, keep: true})
			return
		}
		cn.srv, cn.peer = a.s, peer
		cn.parkPos = len(a.conns)
		a.conns = append(a.conns, cn)
		cn.parkedIn.Store(a)
		cn.parkedFd.Store(int32(fd) + 1)
	}
	cn.since.Store(a.now)
	cn.state.Store(stIdle)
}

// unpark takes cn, parked with socket fd, out of the set, for a close
// (which removes it from the epoll set) or, handOff, for a goroutine.
func (a *inlineAcceptor) unpark(cn *conn, fd int, handOff bool) {
	if handOff {
		unix.EpollCtl(a.epfd, unix.EPOLL_CTL_DEL, fd, &a.ev)
	}
	// wakeParked shuts a parked socket down under the table's lock: once
	// parkedFd is cleared under it, fd may be closed and its number reused.
	t := a.s.table
	t.mu.Lock()
	cn.parkedFd.Store(0)
	cn.parkedIn.Store(nil)
	t.mu.Unlock()
	last := a.conns[len(a.conns)-1]
	a.conns[cn.parkPos], last.parkPos = last, cn.parkPos
	a.conns[len(a.conns)-1] = nil
	a.conns = a.conns[:len(a.conns)-1]
	for i := a.next; i < a.ready; i++ {
		if a.events[i].Pad == cn.slot {
			a.events[i].Pad = staleSlot // the slot may be parked again, with another socket
		}
	}
}

// serveParked answers the request that arrived on the parked cn, or closes
// it when the client closed or the table evicted it.
func (a *inlineAcceptor) serveParked(cn *conn) {
	s := a.s
	fd := int(cn.parkedFd.Load()) - 1
	cn.state.Store(stBusy)
	n, err := sysRead(fd, cn.buf)
	if err == unix.EAGAIN {
		cn.state.Store(stIdle) // nothing after all; since is unchanged
		return
	}
	if err != nil || n == 0 || cn.evicted.Load() {
		s.closeRaw(fd, cn, a)
		return
	}
	s.serveRaw(fd, cn.peer, cn, n, a, true)
}

// sweep closes the connections parked for longer than IdleTimeout.
func (a *inlineAcceptor) sweep() {
	a.next, a.ready = 0, 0 // no batch in progress
	now := a.s.table.now()
	idle := int64(a.s.conf().IdleTimeout)
	for i := 0; i < len(a.conns); {
		cn := a.conns[i]
		if now-cn.since.Load() < idle {
			i++
			continue
		}
		a.s.closeRaw(int(cn.parkedFd.Load())-1, cn, a) // moves the last one to i
	}
}

// closeAll closes every parked connection and the epoll set: the loop
// ends.
func (a *inlineAcceptor) closeAll() {
	a.next, a.ready = 0, 0
	for len(a.conns) > 0 {
		cn := a.conns[len(a.conns)-1]
		a.s.closeRaw(int(cn.parkedFd.Load())-1, cn, a)
	}
	a.ep.Close()
}

// wakeParked shuts cn's socket down when cn is parked, so that its loop
// reads the end of the connection and closes it. Called with the table's
// lock held, under which unpark clears parkedFd before the socket is
// closed: the descriptor is still cn's.
func (cn *conn) wakeParked() {
	if p := cn.parkedFd.Load(); p != 0 {
		unix.Shutdown(int(p-1), unix.SHUT_RDWR)
	}
}

// reap closes cn, parked in a and evicted by a's own accept (see evict).
func (a *inlineAcceptor) reap(cn *conn) {
	a.s.closeRaw(int(cn.parkedFd.Load())-1, cn, a)
}
