//go:build linux

package sock

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// AddrPort reads a sockaddr_in or sockaddr_in6 that the kernel filled in
// (accept4, recvmmsg), with v4-mapped addresses unmapped. The IPv6 scope is
// left out: a zone name costs a lookup, and only a caller that needs it
// asks (ScopeID, ZoneName). The port is in network order whatever the
// host's byte order.
func AddrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port(&p.Port))
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), port(&p.Port))
	}
	return netip.AddrPort{}
}

// ScopeID is the IPv6 scope (interface index) of sa, 0 for none.
func ScopeID(sa *unix.RawSockaddrAny) uint32 {
	if sa.Addr.Family != unix.AF_INET6 {
		return 0
	}
	return (*unix.RawSockaddrInet6)(unsafe.Pointer(sa)).Scope_id
}

func port(p *uint16) uint16 { return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(p))[:]) }

// ZoneName names an IPv6 scope as the net package does: the interface's
// name, or the index if there is no such interface.
func ZoneName(index int) string {
	if ifi, err := net.InterfaceByIndex(index); err == nil {
		return ifi.Name
	}
	return strconv.Itoa(index)
}

// Sockaddr is ap as a unix.Sockaddr, for bind and connect.
func Sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}
