//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// The null responder is the floor of the comparison: a server that does the
// same socket work as a tracker (recvmmsg/sendmmsg batches of 8 for UDP;
// HTTP/1.1 with keep-alive in an epoll loop) and answers every request with
// a well-formed reply of the size the tracker sent, but keeps no state and
// looks nothing up. Tracker CPU per reply minus the null responder's is what
// the tracker's own code costs. It is written in Go, so that it runs under
// qemu-user beside the cross-built tracker on the same emulated CPU.

// nullBatch matches the tracker's UDP batch (tracker/udp batchSize).
const nullBatch = 8

// nullReplies builds the replies; peers is the number of compact IPv4 peers
// in every announce reply (the harness passes the tracker's average).
type nullReplies struct {
	peers int
}

// udpReply writes the reply to one BEP 15 request into out and returns its
// length; 0 drops the request.
func (n *nullReplies) udpReply(in, out []byte) int {
	be := binary.BigEndian
	if len(in) < 16 {
		return 0
	}
	switch be.Uint32(in[8:]) {
	case actConnect:
		be.PutUint32(out[0:], actConnect)
		copy(out[4:8], in[12:16])
		be.PutUint64(out[8:], 0x0123456789abcdef)
		return 16
	case actAnnounce:
		if len(in) < announceLen {
			return 0
		}
		k := n.peers
		if want := int32(be.Uint32(in[92:])); want >= 0 && int(want) < k {
			k = int(want)
		}
		if k > 200 {
			k = 200
		}
		be.PutUint32(out[0:], actAnnounce)
		copy(out[4:8], in[12:16])
		be.PutUint32(out[8:], 1800)
		be.PutUint32(out[12:], 1)
		be.PutUint32(out[16:], 1)
		clear(out[20 : 20+6*k])
		return 20 + 6*k
	case actScrape:
		h := (len(in) - 16) / 20
		if h > maxScrapeN {
			h = maxScrapeN
		}
		be.PutUint32(out[0:], actScrape)
		copy(out[4:8], in[12:16])
		clear(out[8 : 8+12*h])
		return 8 + 12*h
	}
	return 0
}

var (
	nullHead     = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ")
	getAnnounce  = []byte("GET /announce")
	connClose    = []byte("Connection: close")
	infoHashPart = []byte("info_hash=")
)

var zeros [6 * 200]byte

const (
	announceHead = "d8:completei1e10:incompletei1e8:intervali1800e12:min intervali900e5:peers"
	nullScrape   = "d8:completei0e10:downloadedi0e10:incompletei0ee"
)

// httpReply appends the reply to one HTTP request head; it allocates
// nothing once dst has grown.
func (n *nullReplies) httpReply(dst, req []byte) []byte {
	dst = append(dst, nullHead...)
	if bytes.HasPrefix(req, getAnnounce) {
		k := n.peers
		if i := bytes.Index(req, []byte("numwant=")); i >= 0 {
			if v := atoi(req[i+8:]); v < k {
				k = v
			}
		}
		k = min(k, 200)
		plen := 6 * k
		size := len(announceHead) + decimalLen(plen) + 1 + plen + 1
		dst = strconv.AppendInt(dst, int64(size), 10)
		dst = append(dst, "\r\n\r\n"...)
		dst = append(dst, announceHead...)
		dst = strconv.AppendInt(dst, int64(plen), 10)
		dst = append(dst, ':')
		dst = append(dst, zeros[:plen]...)
		return append(dst, 'e')
	}
	h := min(bytes.Count(req, infoHashPart), maxScrapeN)
	dst = strconv.AppendInt(dst, int64(len("d5:filesd")+h*(23+len(nullScrape))+2), 10)
	dst = append(dst, "\r\n\r\nd5:filesd"...)
	for i := 0; i < h; i++ {
		dst = append(dst, "20:"...)
		dst = append(dst, zeros[:20]...)
		dst = append(dst, nullScrape...)
	}
	return append(dst, "ee"...)
}

// atoi reads the decimal number at the start of b (0 if none).
func atoi(b []byte) int {
	v := 0
	for i := 0; i < len(b) && b[i] >= '0' && b[i] <= '9' && v < 1<<20; i++ {
		v = v*10 + int(b[i]-'0')
	}
	return v
}

// cmdNull serves one protocol until killed. Its loop owns the process: a
// blocking system call made raw keeps the only P (the harness pins the
// null responder to one CPU, so GOMAXPROCS is 1), which costs nothing here
// because nothing else has to run. SIGTERM keeps Go's default action, which
// ends the process from the signal handler, and the garbage collector is
// off (the loops allocate next to nothing), so neither needs a P either.
func cmdNull(args []string) error {
	fs := flag.NewFlagSet("null", flag.ExitOnError)
	udp := fs.String("udp", "", "UDP address to serve (loopback)")
	tcp := fs.String("tcp", "", "TCP address to serve (loopback)")
	peers := fs.Int("peers", 50, "compact peers in every announce reply (capped by numwant and 200)")
	fs.Parse(args)
	n := &nullReplies{peers: *peers}
	if (*udp == "") == (*tcp == "") {
		return fmt.Errorf("null: give one of -udp and -tcp")
	}
	debug.SetGCPercent(-1)
	if *udp != "" {
		ap, err := netip.ParseAddrPort(*udp)
		if err != nil {
			return err
		}
		return nullUDP(ap, n)
	}
	ap, err := netip.ParseAddrPort(*tcp)
	if err != nil {
		return err
	}
	return nullTCP(ap, n)
}

// bindSocket opens a socket bound to ap, blocking for UDP, non-blocking for
// a TCP listener.
func bindSocket(typ int, ap netip.AddrPort) (int, error) {
	fam := unix.AF_INET
	if !ap.Addr().Is4() {
		fam = unix.AF_INET6
	}
	flags := unix.SOCK_CLOEXEC
	if typ == unix.SOCK_STREAM {
		flags |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(fam, typ|flags, 0)
	if err != nil {
		return -1, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	if err := unix.Bind(fd, sock.Sockaddr(ap)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %v: %w", ap, err)
	}
	return fd, nil
}

// waitOn returns an epoll instance watching fd for input.
func waitOn(fd int) (int, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, err
	}
	return ep, unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// Raw socket calls for the TCP loop (see cmdNull for why raw).
func rawAccept(lfd int) (int, unix.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(r), e
}

func rawRead(fd int, b []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(r), e
}

func rawWrite(fd int, b []byte) {
	unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
}

func rawClose(fd int) { unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// nullUDP answers datagrams in batches: recvmmsg blocks until a datagram
// is there and returns up to nullBatch (MSG_WAITFORONE), sendmmsg sends the
// replies; two system calls per batch and nothing else.
func nullUDP(ap netip.AddrPort, n *nullReplies) error {
	runtime.LockOSThread()
	fd, err := bindSocket(unix.SOCK_DGRAM, ap)
	if err != nil {
		return err
	}
	var (
		names [nullBatch]unix.RawSockaddrInet6
		iov   [nullBatch]unix.Iovec
		hdr   [nullBatch]sock.Mmsghdr
		oiov  [nullBatch]unix.Iovec
		ohdr  [nullBatch]sock.Mmsghdr
		in    [nullBatch][2048]byte
		out   [nullBatch][1500]byte
	)
	for i := range hdr {
		iov[i].Base = &in[i][0]
		hdr[i].Hdr.Iov = &iov[i]
		hdr[i].Hdr.SetIovlen(1)
		hdr[i].Hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
		oiov[i].Base = &out[i][0]
		ohdr[i].Hdr.Iov = &oiov[i]
		ohdr[i].Hdr.SetIovlen(1)
	}
	var yield sock.Yielder // as the tracker's loops, so that sysmon backs off
	for {
		yield.Batch()
		for i := range hdr {
			iov[i].SetLen(len(in[i]))
			hdr[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		}
		r0, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdr[0])), nullBatch, unix.MSG_WAITFORONE, 0, 0)
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			return fmt.Errorf("recvmmsg: %w", e)
		}
		r := int(r0)
		k := 0
		for i := 0; i < r; i++ {
			ln := n.udpReply(in[i][:hdr[i].N], out[k][:])
			if ln == 0 {
				continue
			}
			oiov[k].Base = &out[k][0]
			oiov[k].SetLen(ln)
			ohdr[k].Hdr.Name = hdr[i].Hdr.Name
			ohdr[k].Hdr.Namelen = hdr[i].Hdr.Namelen
			k++
		}
		for sent := 0; sent < k; {
			s, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&ohdr[sent])), uintptr(k-sent), 0, 0, 0)
			if e != 0 {
				break // the generator counts the loss
			}
			sent += int(s)
		}
	}
}

// nullConn is one HTTP connection's unparsed input.
type nullConn struct {
	in  []byte
	out []byte
}

// nullTCP serves HTTP/1.1 in one epoll loop on a locked thread: accept4,
// read, answer every complete request head, keep the connection unless the
// request says Connection: close. Like the tracker's listeners, it defers
// accepting until the request has arrived (TCP_DEFER_ACCEPT), answers a
// new connection at once, without a round through epoll, and corks it.
func nullTCP(ap netip.AddrPort, n *nullReplies) error {
	runtime.LockOSThread()
	lfd, err := bindSocket(unix.SOCK_STREAM, ap)
	if err != nil {
		return err
	}
	_ = unix.SetsockoptInt(lfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 3)
	// Accepted sockets inherit the cork: a reply answered at once leaves
	// with the FIN in one segment. Connections kept open are uncorked.
	_ = unix.SetsockoptInt(lfd, unix.IPPROTO_TCP, unix.TCP_CORK, 1)
	if err := unix.Listen(lfd, 4096); err != nil {
		return err
	}
	ep, err := waitOn(lfd)
	if err != nil {
		return err
	}
	conns := map[int32]*nullConn{}
	events := make([]unix.EpollEvent, 64)
	buf := make([]byte, 16<<10)
	var spare nullConn
	var yield sock.Yielder // as the tracker's loops, so that sysmon backs off
	for {
		yield.Batch()
		k0, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			return fmt.Errorf("epoll_pwait: %w", e)
		}
		k := int(k0)
		for _, ev := range events[:k] {
			if int(ev.Fd) != lfd {
				if c := conns[ev.Fd]; c != nil && !n.serveConn(int(ev.Fd), c, buf) {
					rawClose(int(ev.Fd))
					delete(conns, ev.Fd)
				}
				continue
			}
			for {
				fd, e := rawAccept(lfd)
				if e != 0 {
					break
				}
				c := &spare
				c.in, c.out = c.in[:0], c.out[:0]
				if !n.serveConn(fd, c, buf) {
					rawClose(fd)
					continue
				}
				_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
				_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_CORK, 0)
				if unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}) != nil {
					rawClose(fd)
					continue
				}
				conns[int32(fd)] = &nullConn{in: append([]byte(nil), c.in...)}
			}
		}
	}
}

// serveConn reads what fd has, answers every complete request and reports
// whether the connection stays open.
func (n *nullReplies) serveConn(fd int, c *nullConn, buf []byte) bool {
	m, e := rawRead(fd, buf)
	if e != 0 || m <= 0 {
		return e == unix.EAGAIN
	}
	c.in = append(c.in, buf[:m]...)
	c.out = c.out[:0]
	closing := false
	for {
		end := bytes.Index(c.in, crlfcrlf)
		if end < 0 {
			break
		}
		req := c.in[:end+4]
		c.out = n.httpReply(c.out, req)
		closing = closing || bytes.Contains(req, connClose)
		c.in = c.in[:copy(c.in, c.in[end+4:])]
	}
	if len(c.out) > 0 {
		rawWrite(fd, c.out)
	}
	return !closing && len(c.in) <= 64<<10
}

// decimalLen is the number of decimal digits of v >= 0.
func decimalLen(v int) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
