//go:build linux

package livesync

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// ipMulticastAll is Linux's IP_MULTICAST_ALL (not in package syscall).
const ipMulticastAll = 49

// openSockets binds the receive socket (0.0.0.0:port, joined to the group
// on the interface owning listen) and the send socket (listen, TTL 1).
func openSockets(listen netip.AddrPort, loop bool) (recv, send *net.UDPConn, err error) {
	reuse := sock.Options{ReuseAddr: true}
	ifaddr := listen.Addr().As4()
	recv, err = sock.ListenUDP(fmt.Sprintf("0.0.0.0:%d", listen.Port()), reuse)
	if err != nil {
		return nil, nil, fmt.Errorf("live sync: %v", err)
	}
	err = control(recv, func(fd int) error {
		mreq := &syscall.IPMreq{Multiaddr: Group.As4(), Interface: ifaddr}
		if err := syscall.SetsockoptIPMreq(fd, syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, mreq); err != nil {
			return fmt.Errorf("joining %v on %v: %v", Group, listen.Addr(), err)
		}
		// Only the groups this socket joined (hardening; upstream leaves it).
		syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipMulticastAll, 0)
		return nil
	})
	if err != nil {
		recv.Close()
		return nil, nil, fmt.Errorf("live sync: %v", err)
	}
	send, err = sock.ListenUDP(listen.String(), reuse)
	if err != nil {
		recv.Close()
		return nil, nil, fmt.Errorf("live sync: %v", err)
	}
	err = control(send, func(fd int) error {
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
		return nil, nil, fmt.Errorf("live sync: send socket: %v", err)
	}
	return recv, send, nil
}

func control(c *net.UDPConn, fn func(fd int) error) error {
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
