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

// batch is a batched loop's buffers, allocated once per loop.
type batch struct {
	names [batchSize]unix.RawSockaddrAny
	iov   [batchSize]unix.Iovec
	hdr   [batchSize]sock.Mmsghdr
	oiov  [batchSize]unix.Iovec
	ohdr  [batchSize]sock.Mmsghdr
	in    [batchSize][MaxPacket + 1]byte // the spare byte detects over-long packets
	out   [batchSize][outLen]byte
}

// loopBatch serves c with recvmmsg/sendmmsg: up to batchSize requests per
// receive call and their replies in one send call. At saturation that
// roughly halves the server's CPU per announce (measurements in doc.go); with
// only a few requests in flight it is somewhat slower than the plain loop,
// which does not matter while the server is mostly idle. It returns false,
// having served nothing, if c offers no raw access.
func (s *Server) loopBatch(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	w := newWorker(s)
	b := new(batch)
	for i := range b.hdr {
		b.iov[i].Base = &b.in[i][0]
		b.iov[i].SetLen(len(b.in[i]))
		b.hdr[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdr[i].Hdr.Iov = &b.iov[i]
		b.hdr[i].Hdr.SetIovlen(1)
	}
	l := complainer{s: s, c: c}

	// The callbacks are made once: a closure per call would allocate.
	// Both calls are raw syscalls (sock.RecvMmsg): measured side by side
	// (make bench's udp-announce, 4 runs each), CPU per announce was 2.8x
	// the reference's better with plain syscalls, 3.5x with raw ones.
	var got, nout, sent int
	var rerr, serr syscall.Errno
	recv := func(fd uintptr) bool {
		for i := range b.hdr {
			b.hdr[i].Hdr.Namelen = uint32(unsafe.Sizeof(b.names[i]))
			b.hdr[i].Hdr.Flags = 0
		}
		for {
			r, e := sock.RecvMmsg(fd, b.hdr[:])
			switch e {
			case 0:
				got, rerr = r, 0
				return true
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait for the poller
			default:
				got, rerr = 0, e
				return true
			}
		}
	}
	send := func(fd uintptr) bool {
		for sent < nout {
			r, e := sock.SendMmsg(fd, b.ohdr[sent:nout])
			switch {
			case e == unix.EINTR:
			case e == unix.EAGAIN:
				return false // send buffer full: wait until writable
			case e != 0 || r == 0:
				// The first remaining message failed (a firewall's EPERM,
				// an unreachable destination): drop it, send the rest.
				serr = e
				sent++
			default:
				sent += r
			}
		}
		return true
	}

	for {
		if err := rc.Read(recv); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.complain("read", err)
			}
			return true
		}
		if rerr != 0 {
			// Transient (ENOMEM, a pending ICMP error): go on, but do not
			// spin if it persists.
			l.complain("read", rerr)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		nout = 0
		for i := 0; i < got; i++ {
			w.out = b.out[i][:]
			reply := w.handle(b.in[i][:b.hdr[i].N], sock.AddrPort(&b.names[i]))
			if reply == nil {
				continue
			}
			b.oiov[nout].Base = &reply[0]
			b.oiov[nout].SetLen(len(reply))
			b.ohdr[nout].Hdr = unix.Msghdr{Name: b.hdr[i].Hdr.Name, Namelen: b.hdr[i].Hdr.Namelen, Iov: &b.oiov[nout]}
			b.ohdr[nout].Hdr.SetIovlen(1)
			nout++
		}
		if nout == 0 {
			continue
		}
		sent, serr = 0, 0
		if err := rc.Write(send); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.complain("write", err)
			}
			return true
		}
		if serr != 0 {
			l.complain("write", serr)
		}
	}
}
