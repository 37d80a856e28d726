// Command opentracker is a BitTorrent tracker (HTTP and UDP, IPv4 and IPv6)
// for small machines such as WLAN routers: a Go re-implementation of
// opentracker with a fixed memory budget.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"runtime/debug"

	"go.uber.org/automaxprocs/maxprocs"

	"github.com/opentracker-go/opentracker/tracker/config"
)

// version is reported by -v and /stats; the build sets it at link time
// (-X main.version=...).
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// logs are the daemon's two streams, as procd files them in the system
// log: routine messages on stdout (daemon.info), problems on stderr
// (daemon.err).
type logs struct{ info, warn *log.Logger }

// run is the daemon from the command line to exit status.
func run(args []string, stdout, stderr io.Writer) int {
	lg := logs{info: log.New(stdout, "opentracker: ", 0), warn: log.New(stderr, "opentracker: ", 0)}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, "opentracker-go", version)
		return 0
	}
	// load reads the configuration as at start; SIGHUP calls it again.
	load := func() (*config.Config, error) {
		cfg, err := config.Load(o.configFile)
		if err == nil {
			o.apply(cfg)
			err = cfg.Validate()
		}
		return cfg, err
	}
	cfg, err := load()
	if err != nil {
		lg.warn.Print(err)
		return 1
	}
	if o.check {
		// A warning, not a failure: the OpenWrt init script checks the
		// configuration before it makes the state directory for the
		// daemon's user, and the tracker serves without its state.
		if err := checkStateDir(cfg); err != nil {
			lg.warn.Printf("warning: %v: the state cannot be saved", err)
		}
		name := o.configFile
		if name == "" {
			name = "(built-in defaults)"
		}
		lg.info.Printf("configuration %s ok", name)
		return 0
	}
	// GOMAXPROCS follows a cgroup CPU quota (procd jails, containers).
	maxprocs.Set(maxprocs.Logger(func(string, ...any) {}))
	setMemoryLimit(int64(cfg.MemoryBudget)+connBufferBytes(cfg), lg.info)
	if err := serve(cfg, load, lg); err != nil {
		lg.warn.Print(err)
		return 1
	}
	return 0
}

// setMemoryLimit bounds the Go heap unless GOMEMLIMIT says otherwise;
// budget is the store's plus the connection buffers, both allocated at start. The
// store's budget is allocated as live heap, so with the default GOGC the
// collector would wait for as much garbage as the budget before running:
// per-connection garbage of one-request HTTP clients grew RSS by tens of MB.
// A limit of the budget plus a margin makes it collect early instead; the
// collections are cheap, since the store holds no pointers to scan.
func setMemoryLimit(budget int64, logger *log.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := budget + max(16<<20, budget/16)
	debug.SetMemoryLimit(limit)
	logger.Printf("Go memory limit %d MiB (memory_budget + connection buffers + margin; GOMEMLIMIT overrides)", limit>>20)
}
