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
	ctrl  [batchSize][8]uint64 // ancillary data: the address a packet was sent to (see replyFrom)

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
		b.hdr[i].Hdr.Control = (*byte)(unsafe.Pointer(&b.ctrl[i][0]))
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
		if n := int(b.hdr[i].Hdr.Controllen); n > 0 && b.hdr[i].Hdr.Flags&unix.MSG_CTRUNC == 0 && replyFrom(&b.ctrl[i]) {
			b.ohdr[b.nout].Hdr.Control = b.hdr[i].Hdr.Control
			b.ohdr[b.nout].Hdr.SetControllen(n)
		}
		b.nout++
	}
	return b.nout
}

// receive is the RawConn.Read callback: one recvmmsg without waiting. It
// returns false, to wait for the poller, only when nothing is queued.
func (b *batch) receive(fd uintptr) bool {
	for i := range b.hdr {
		b.hdr[i].Hdr.Namelen = uint32(unsafe.Sizeof(b.names[i]))
		b.hdr[i].Hdr.SetControllen(len(b.ctrl[i]) * 8)
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

// replyFrom turns the packet information a socket bound to a wildcard
// address receives with each packet (sock.ListenUDP asks for it) into the
// same for the reply, so that the reply leaves from the address the client
// wrote to. Otherwise the kernel picks the source by the route back, and on
// a host with several addresses on one network (an OpenWrt LAN with IPv6
// ULA and global prefixes, or an IPv4 alias) a client that wrote to one
// gets the reply from another: libtorrent drops it ("unexpected source
// IP"), as does any connected UDP socket. IPv6's in6_pktinfo is the same
// both ways (the address and the interface; on a dual-stack socket an IPv4
// packet's comes v4-mapped, and the kernel takes it back the same way);
// IPv4's in_pktinfo takes the destination the packet had (ipi_addr) as the
// source to use (ipi_spec_dst), with no interface, so that the route
// decides it. It reports false for anything else.
func replyFrom(ctrl *[8]uint64) bool {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	data := unsafe.Add(unsafe.Pointer(&ctrl[0]), unix.CmsgLen(0))
	switch {
	case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO:
		return true
	case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO:
		p := (*unix.Inet4Pktinfo)(data)
		p.Spec_dst, p.Ifindex = p.Addr, 0
		return true
	}
	return false
}
