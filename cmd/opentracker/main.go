// Command opentracker is a BitTorrent tracker (HTTP and UDP, IPv4 and IPv6)
// for small machines such as WLAN routers: a Go re-implementation of
// opentracker with a fixed memory budget.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"go.uber.org/automaxprocs/maxprocs"

	"github.com/opentracker-go/opentracker/tracker/config"
	"github.com/opentracker-go/opentracker/tracker/stats"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the daemon from the command line to exit status.
func run(args []string, stderr io.Writer) int {
	logger := log.New(stderr, "opentracker: ", 0)
	o, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	if o.version {
		fmt.Fprintln(stderr, "opentracker-go", stats.Version)
		return 0
	}
	cfg, err := config.Load(o.configFile)
	if err == nil {
		o.apply(cfg)
		err = cfg.Validate()
	}
	if err != nil {
		logger.Print(err)
		return 1
	}
	if o.check {
		name := o.configFile
		if name == "" {
			name = "(built-in defaults)"
		}
		logger.Printf("configuration %s ok", name)
		return 0
	}
	// GOMAXPROCS follows a cgroup CPU quota (procd jails, containers).
	maxprocs.Set(maxprocs.Logger(func(string, ...any) {}))
	if err := serve(cfg, logger); err != nil {
		logger.Print(err)
		return 1
	}
	return 0
}
