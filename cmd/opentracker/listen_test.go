package main

import (
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

// TestNoIPv6: only the IPv6 wildcard failing with EAFNOSUPPORT (a kernel
// without IPv6) is skipped; other failures and addresses stay fatal.
func TestNoIPv6(t *testing.T) {
	noAF := fmt.Errorf("udp: listen: %w", os.NewSyscallError("socket", syscall.EAFNOSUPPORT))
	inUse := os.NewSyscallError("bind", syscall.EADDRINUSE)
	for _, c := range []struct {
		addr string
		err  error
		skip bool
	}{
		{"[::]:6969", noAF, true},
		{"[::]:0", noAF, true},
		{"[::]:6969", inUse, false},
		{"[::]:6969", nil, false},
		{"[::1]:6969", noAF, false},
		{"0.0.0.0:6969", noAF, false},
	} {
		if got := noIPv6(netip.MustParseAddrPort(c.addr), c.err); got != c.skip {
			t.Errorf("noIPv6(%q, %v) = %v", c.addr, c.err, got)
		}
	}
}
