package sock

import (
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// struct mmsghdr is 64 bytes on 64-bit Linux and 32 on 32-bit (mipsle, arm).
func TestMmsghdrLayout(t *testing.T) {
	want := uintptr(64)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 32
	}
	if got := unsafe.Sizeof(Mmsghdr{}); got != want {
		t.Fatalf("sizeof(Mmsghdr) = %d, want %d", got, want)
	}
	if off := unsafe.Offsetof(Mmsghdr{}.N); off != unsafe.Sizeof(Mmsghdr{}.Hdr) {
		t.Fatalf("msg_len at %d", off)
	}
}

// A batch sent with SendMmsg arrives whole, and RecvMmsg reports each
// datagram's length and sender (AddrPort), for both families.
func TestMmsgRoundTrip(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		rx, err := ListenUDP(addr, Options{})
		if err != nil {
			t.Logf("%s: %v", addr, err)
			continue
		}
		defer rx.Close()
		tx, err := ListenUDP(addr, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
		from := tx.LocalAddr().(*net.UDPAddr).AddrPort()

		payloads := [][]byte{[]byte("one"), []byte("second"), []byte("3")}
		var dst unix.RawSockaddrAny
		name, namelen := rawName(t, to, &dst)
		out := make([]Mmsghdr, len(payloads))
		iov := make([]unix.Iovec, len(payloads))
		for i, p := range payloads {
			iov[i].Base = &p[0]
			iov[i].SetLen(len(p))
			out[i].Hdr = unix.Msghdr{Name: name, Namelen: namelen, Iov: &iov[i]}
			out[i].Hdr.SetIovlen(1)
		}
		if n, e := SendMmsg(fd(t, tx), out); e != 0 || n != len(payloads) {
			t.Fatalf("%s: sendmmsg %d, %v", addr, n, e)
		}

		var names [4]unix.RawSockaddrAny
		var bufs [4][16]byte
		in := make([]Mmsghdr, 4)
		iin := make([]unix.Iovec, 4)
		for i := range in {
			iin[i].Base = &bufs[i][0]
			iin[i].SetLen(len(bufs[i]))
			in[i].Hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
			in[i].Hdr.Namelen = uint32(unsafe.Sizeof(names[i]))
			in[i].Hdr.Iov = &iin[i]
			in[i].Hdr.SetIovlen(1)
		}
		got := 0
		for deadline := time.Now().Add(5 * time.Second); got < len(payloads); {
			n, e := RecvMmsg(fd(t, rx), in[got:])
			if e == unix.EAGAIN || e == unix.EINTR {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %d of %d datagrams after 5 s", addr, got, len(payloads))
				}
				time.Sleep(time.Millisecond)
				continue
			}
			if e != 0 {
				t.Fatalf("%s: recvmmsg: %v", addr, e)
			}
			got += n
		}
		for i, p := range payloads {
			if g := string(bufs[i][:in[i].N]); g != string(p) {
				t.Errorf("%s: datagram %d is %q, want %q", addr, i, g, p)
			}
			if g := AddrPort(&names[i]); g != from {
				t.Errorf("%s: datagram %d from %v, want %v", addr, i, g, from)
			}
		}
	}
}

// AddrPort unmaps v4-mapped IPv6 addresses, as a dual-stack socket reports
// IPv4 clients, and reads the port in network order.
func TestAddrPortUnmaps(t *testing.T) {
	var sa unix.RawSockaddrAny
	p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa))
	p.Family = unix.AF_INET6
	p.Addr = netip.MustParseAddr("::ffff:10.1.2.3").As16()
	b := (*[2]byte)(unsafe.Pointer(&p.Port))
	b[0], b[1] = 0x1a, 0xe1 // 6881
	if got, want := AddrPort(&sa), netip.MustParseAddrPort("10.1.2.3:6881"); got != want {
		t.Fatalf("AddrPort = %v, want %v", got, want)
	}
}

func fd(t *testing.T, c *net.UDPConn) uintptr {
	t.Helper()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	// File's duplicate is blocking; MSG_DONTWAIT keeps the calls from waiting.
	return f.Fd()
}

func rawName(t *testing.T, ap netip.AddrPort, sa *unix.RawSockaddrAny) (*byte, uint32) {
	t.Helper()
	if ap.Addr().Is4() {
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p.Family = unix.AF_INET
		p.Addr = ap.Addr().As4()
		b := (*[2]byte)(unsafe.Pointer(&p.Port))
		b[0], b[1] = byte(ap.Port()>>8), byte(ap.Port())
		return (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4
	}
	p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
	p.Family = unix.AF_INET6
	p.Addr = ap.Addr().As16()
	b := (*[2]byte)(unsafe.Pointer(&p.Port))
	b[0], b[1] = byte(ap.Port()>>8), byte(ap.Port())
	return (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet6
}
