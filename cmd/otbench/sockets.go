//go:build linux

package main

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// srcAddr returns the i-th loopback source address of a family: IPv4 spreads
// over 127.1.0.1, 127.1.0.2, ... (all of 127.0.0.0/8 is on lo); IPv6 has
// only ::1.
func srcAddr(v6 bool, i int) netip.Addr {
	if v6 {
		return netip.IPv6Loopback()
	}
	i %= 254 * 254
	return netip.AddrFrom4([4]byte{127, 1, byte(i / 254), byte(i%254 + 1)})
}

// checkLoopback refuses any target outside 127.0.0.0/8 and ::1: the
// benchmark never sends load anywhere else.
func checkLoopback(ap netip.AddrPort) error {
	a := ap.Addr().Unmap()
	if !a.IsLoopback() {
		return fmt.Errorf("%v is not a loopback address; otbench only loads 127.0.0.0/8 and ::1", ap)
	}
	return nil
}

// openSocket creates a non-blocking socket bound to src (port 0) and, for
// UDP, connected to dst. TCP sockets are returned unconnected.
func openSocket(typ int, src netip.Addr, dst netip.AddrPort, rcvbuf int) (int, error) {
	fam := unix.AF_INET
	if !dst.Addr().Is4() {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if rcvbuf > 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, rcvbuf)
	}
	if typ == unix.SOCK_STREAM {
		// Close with RST: neither side keeps the connection in TIME_WAIT.
		// Otherwise a run at 20k connections/s leaves >100k TIME_WAIT sockets
		// that slow down connection setup for the next run (and the next
		// server), which would bias an A/B comparison.
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	if typ == unix.SOCK_STREAM && fam == unix.AF_INET {
		// Pick the port at connect time so the 4-tuple, not the local port
		// alone, must be unique: many more connections per source address.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}
	if src.IsValid() {
		if err := unix.Bind(fd, sock.Sockaddr(netip.AddrPortFrom(src, 0))); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("bind %v: %w", src, err)
		}
	}
	if typ == unix.SOCK_DGRAM {
		if err := unix.Connect(fd, sock.Sockaddr(dst)); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("connect %v: %w", dst, err)
		}
	}
	return fd, nil
}

// msgRing is a set of message headers over one flat buffer of fixed-size
// slots, for sendmmsg/recvmmsg.
type msgRing struct {
	msgs []sock.Mmsghdr
	iov  []unix.Iovec
	buf  []byte
	size int
}

func newMsgRing(n, size int) *msgRing {
	r := &msgRing{msgs: make([]sock.Mmsghdr, n), iov: make([]unix.Iovec, n), buf: make([]byte, n*size), size: size}
	for i := range r.msgs {
		r.iov[i].Base = &r.buf[i*size]
		r.iov[i].SetLen(size)
		r.msgs[i].Hdr.Iov = &r.iov[i]
		r.msgs[i].Hdr.SetIovlen(1)
	}
	return r
}

func (r *msgRing) slot(i int) []byte { return r.buf[i*r.size : (i+1)*r.size] }

// point makes message i send n bytes from b (which must stay alive).
func (r *msgRing) point(i int, b []byte) {
	r.iov[i].Base = &b[0]
	r.iov[i].SetLen(len(b))
}

// sendmmsg sends msgs[0:n] on a connected socket.
func sendmmsg(fd int, r *msgRing, n int) (int, unix.Errno) {
	return sock.SendMmsg(uintptr(fd), r.msgs[:n])
}

// recvmmsg receives up to len(msgs) datagrams without blocking.
func recvmmsg(fd int, r *msgRing) (int, unix.Errno) {
	for i := range r.msgs {
		r.iov[i].SetLen(r.size)
	}
	return sock.RecvMmsg(uintptr(fd), r.msgs)
}

func isAgain(e unix.Errno) bool {
	return e == unix.EAGAIN || e == unix.EWOULDBLOCK || e == unix.EINTR
}
