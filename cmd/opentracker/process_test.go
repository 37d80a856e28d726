package main

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/internal/testdaemon"
)

// process is a running opentracker daemon (testdaemon's), with the
// addresses it logged as bound by the time it was ready.
type process struct {
	*testdaemon.Process
	cmd      *exec.Cmd
	tcp, udp []netip.AddrPort // as it logged them: "listening tcp|udp ADDR"
	exited   chan error       // Wait's result, for tests that stop the daemon
}

// launch is the one way the tests start the daemon: the built binary, under
// prefix (say "ip netns exec NS"), with toml as its configuration file and
// args after it. It returns once ready holds for the log (stdout and
// stderr, merged), failing the test if the daemon exits first or ready
// does not hold within 10 s. The daemon is killed when the test ends.
func launch(t *testing.T, prefix []string, toml string, ready func(log string) bool, args ...string) *process {
	t.Helper()
	p := testdaemon.Launch(t, daemonBin, prefix, toml, ready, args...)
	d := &process{Process: p, cmd: p.Cmd, tcp: p.TCP(), udp: p.UDP(), exited: make(chan error, 1)}
	go func() {
		<-p.Done()
		d.exited <- p.Err()
	}()
	return d
}

// startDaemon runs the daemon with a config made of the given TOML (binds
// default to 127.0.0.1 and ::1 on ephemeral ports, the budget to 8 MiB)
// and waits for its binds.
func startDaemon(t *testing.T, toml string, args ...string) *process {
	t.Helper()
	if !strings.Contains(toml, "[listen]") {
		toml += "\n[listen]\ntcp = [\"127.0.0.1:0\", \"[::1]:0\"]\nudp = [\"127.0.0.1:0\", \"[::1]:0\"]\n"
	}
	if !strings.Contains(toml, "memory_budget") {
		toml = "memory_budget = \"8M\"\n" + toml
	}
	d := launch(t, nil, toml, testdaemon.Binds(2), args...)
	time.Sleep(50 * time.Millisecond) // files are read after binding
	return d
}

func (d *process) logText() string { return d.Log() }

// waitLog waits until the daemon logged a line containing s.
func (d *process) waitLog(t *testing.T, s string) {
	t.Helper()
	d.WaitLog(t, s, 5*time.Second)
}
