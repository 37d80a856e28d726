package udp

import (
	"errors"
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// batchSize is how many datagrams one recvmmsg takes and one sendmmsg
// sends. 8 is the knee measured for raw receive on x86 and aarch64 (more
// adds under 2%).
const batchSize = 8

// batch is a batched loop's buffers, allocated once per loop, and the
// state its system call callbacks share with it.
type batch struct {
	names [batchSize]unix.RawSockaddrAny
	iov   [batchSize]unix.Iovec
	hdr   [batchSize]sock.Mmsghdr
	oiov  [batchSize]unix.Iovec
	ohdr  [batchSize]sock.Mmsghdr
	in    [batchSize][MaxPacket + 1]byte // the spare byte detects over-long packets
	out   [batchSize][outLen]byte

	got, nout, sent int           // received, replies to send, replies sent
	rerr, serr      syscall.Errno // the last receive and send errors
	recv, send      func(fd uintptr) bool
}

func newBatch() *batch {
	b := new(batch)
	for i := range b.hdr {
		b.iov[i].Base = &b.in[i][0]
		b.iov[i].SetLen(len(b.in[i]))
		b.hdr[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdr[i].Hdr.Iov = &b.iov[i]
		b.hdr[i].Hdr.SetIovlen(1)
	}
	// The callbacks are bound once: a method value per call would allocate.
	b.recv, b.send = b.receive, b.transmit
	return b
}

// loopBatch serves c with recvmmsg/sendmmsg: up to batchSize requests per
// receive call and their replies in one send call. At saturation that
// roughly halves the server's CPU per announce (measurements in doc.go); with
// only a few requests in flight it is somewhat slower than the plain loop,
// which does not matter while the server is mostly idle. It returns false,
// having served nothing, if c offers no raw access. Both calls are raw
// syscalls (sock.RecvMmsg): measured side by side (make bench's
// udp-announce, 4 runs each), CPU per announce was 2.8x the reference's
// better with plain syscalls, 3.5x with raw ones.
func (s *Server) loopBatch(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	w := newWorker(s)
	b := newBatch()
	l := complainer{s: s, c: c}
	var yield sock.Yielder
	for {
		if err := rc.Read(b.recv); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.complain("read", err)
			}
			return true
		}
		if b.rerr != 0 {
			// Transient (ENOMEM, a pending ICMP error): go on, but do not
			// spin if it persists.
			l.complain("read", b.rerr)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		w.batchNow = s.now().Unix() // one clock reading per batch (worker.batchNow)
		yield.Batch()
		if b.answer(w) == 0 {
			continue
		}
		b.sent, b.serr = 0, 0
		if err := rc.Write(b.send); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.complain("write", err)
			}
			return true
		}
		if b.serr != 0 {
			l.complain("write", b.serr)
		}
	}
}

// answer handles the received datagrams and points the send headers at
// their replies, each to its sender. It returns how many there are.
func (b *batch) answer(w *worker) int {
	b.nout = 0
	for i := 0; i < b.got; i++ {
		w.out = b.out[i][:]
		reply := w.handle(b.in[i][:b.hdr[i].N], sock.AddrPort(&b.names[i]))
		if reply == nil {
			continue
		}
		b.oiov[b.nout].Base = &reply[0]
		b.oiov[b.nout].SetLen(len(reply))
		b.ohdr[b.nout].Hdr = unix.Msghdr{Name: b.hdr[i].Hdr.Name, Namelen: b.hdr[i].Hdr.Namelen, Iov: &b.oiov[b.nout]}
		b.ohdr[b.nout].Hdr.SetIovlen(1)
		b.nout++
	}
	return b.nout
}

// receive is the RawConn.Read callback: one recvmmsg without waiting. It
// returns false, to wait for the poller, only when nothing is queued.
func (b *batch) receive(fd uintptr) bool {
	for i := range b.hdr {
		b.hdr[i].Hdr.Namelen = uint32(unsafe.Sizeof(b.names[i]))
		b.hdr[i].Hdr.Flags = 0
	}
	for {
		r, e := sock.RecvMmsg(fd, b.hdr[:])
		switch e {
		case 0:
			b.got, b.rerr = r, 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait for the poller
		default:
			b.got, b.rerr = 0, e
			return true
		}
	}
}

// transmit is the RawConn.Write callback: sendmmsg until every reply is
// sent or dropped. It returns false, to wait until writable, when the send
// buffer is full.
func (b *batch) transmit(fd uintptr) bool {
	for b.sent < b.nout {
		r, e := sock.SendMmsg(fd, b.ohdr[b.sent:b.nout])
		switch {
		case e == unix.EINTR:
		case e == unix.EAGAIN:
			return false
		case e != 0 || r == 0:
			// The first remaining message failed (a firewall's EPERM,
			// an unreachable destination): drop it, send the rest.
			b.serr = e
			b.sent++
		default:
			b.sent += r
		}
	}
	return true
}
