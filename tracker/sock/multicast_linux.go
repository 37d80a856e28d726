//go:build linux

package sock

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ipMulticastAll is Linux's IP_MULTICAST_ALL (not in package syscall).
const ipMulticastAll = 49

// ListenMulticast opens an IPv4 multicast pair: recv, bound to
// 0.0.0.0:<listen port> and joined to group on the interface that owns
// listen's address, and send, bound to listen, with TTL 1 (the local
// network only), IP_MULTICAST_IF on listen's address and IP_MULTICAST_LOOP
// as loop says. Both set SO_REUSEADDR, so that several processes on one
// host can listen on one port.
func ListenMulticast(group netip.Addr, listen netip.AddrPort, loop bool) (recv, send *net.UDPConn, err error) {
	reuse := Options{ReuseAddr: true}
	ifaddr := listen.Addr().As4()
	recv, err = ListenUDP(fmt.Sprintf("0.0.0.0:%d", listen.Port()), reuse)
	if err != nil {
		return nil, nil, err
	}
	err = Control(recv, func(fd int) error {
		mreq := &syscall.IPMreq{Multiaddr: group.As4(), Interface: ifaddr}
		if err := syscall.SetsockoptIPMreq(fd, syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, mreq); err != nil {
			return fmt.Errorf("joining %v on %v: %v", group, listen.Addr(), err)
		}
		// Only the groups this socket joined (hardening; the kernel's
		// default delivers every group any socket on the host joined).
		syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipMulticastAll, 0)
		return nil
	})
	if err != nil {
		recv.Close()
		return nil, nil, err
	}
	send, err = ListenUDP(listen.String(), reuse)
	if err != nil {
		recv.Close()
		return nil, nil, err
	}
	err = Control(send, func(fd int) error {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, 1); err != nil {
			return err
		}
		l := 0
		if loop {
			l = 1
		}
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_LOOP, l); err != nil {
			return err
		}
		if err := syscall.SetsockoptInet4Addr(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, ifaddr); err != nil {
			return err
		}
		// The send socket is never read: keep what unicast lands on it small.
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
		return nil
	})
	if err != nil {
		recv.Close()
		send.Close()
		return nil, nil, fmt.Errorf("send socket: %v", err)
	}
	return recv, send, nil
}

// Control runs fn on c's descriptor and returns what it returns.
func Control(c *net.UDPConn, fn func(fd int) error) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
