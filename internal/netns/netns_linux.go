// Package netns runs test code inside a network namespace the test makes,
// so that tests can bind wildcard addresses, add addresses and route
// multicast without touching the host's network.
package netns

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

var seq atomic.Int64

// Run makes a fresh network namespace with loopback up, runs setup (ip
// commands into it: IP("addr", "add", ...)) and then fn on a thread inside
// it. Sockets fn makes stay in that namespace, whichever thread uses them
// later. The thread is never unlocked, so it ends with its goroutine. Run
// skips the test without root or iproute2's ip.
func Run(t *testing.T, setup func(ip func(args ...string)), fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates a network namespace)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	ns := fmt.Sprintf("ottest%d-%d", os.Getpid(), seq.Add(1))
	ip := func(args ...string) {
		t.Helper()
		args = append([]string{"-n", ns}, args...)
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run()
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "set", "lo", "up")
	if setup != nil {
		setup(ip)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		fn()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
