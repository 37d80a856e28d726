//go:build linux

package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type serverFlags struct {
	ours, ref      string
	cpus, loadCPUs string
	budget         string
	fillBudget     string
	dir            string
	torrents       int
	seed           uint64
}

// register adds the server flags; withWorkload adds -torrents and -seed too
// (commands that also take load flags get those from there).
func (f *serverFlags) register(fs *flag.FlagSet, withWorkload bool) {
	fs.StringVar(&f.ours, "ours", "./bin/opentracker", "this tracker's binary")
	fs.StringVar(&f.ref, "ref", "", "reference binary (default /usr/bin/opentracker or /usr/sbin/opentracker)")
	fs.StringVar(&f.cpus, "server-cpus", "0", "CPUs the server is pinned to (empty: no pinning)")
	fs.StringVar(&f.loadCPUs, "load-cpus", "1", "CPUs the generator is pinned to (empty: no pinning)")
	fs.StringVar(&f.budget, "budget", "256M", "memory_budget for this tracker")
	// 256M holds 4M IPv4 peers several times over. At 1G the Go heap's goal
	// passes 1 GiB after the first GC, and the runtime then backs its page
	// allocator metadata with transparent huge pages: about 8 MB more RSS,
	// at a moment that depends on when that GC runs (seen as 13.0 and 17.7
	// bytes per peer for the same 1M fill).
	fs.StringVar(&f.fillBudget, "fill-budget", "256M", "memory_budget for this tracker in memory fill runs")
	fs.StringVar(&f.dir, "dir", "", "work directory (default: a new temporary one)")
	f.torrents, f.seed = 10000, 1
	if withWorkload {
		fs.IntVar(&f.torrents, "torrents", 10000, "torrents in the workload (and the reference's whitelist)")
		fs.Uint64Var(&f.seed, "seed", 1, "workload random seed")
	}
}

func (f *serverFlags) workdir() (string, func(), error) {
	if f.dir != "" {
		return f.dir, func() {}, os.MkdirAll(f.dir, 0o755)
	}
	d, err := os.MkdirTemp("", "otbench-")
	if err != nil {
		return "", nil, err
	}
	os.Chmod(d, 0o755) // the reference drops to nobody inside it
	return d, func() { os.RemoveAll(d) }, nil
}

// cmdServe starts one tracker the way compare does and keeps it up, for
// manual `otbench load` runs.
func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	var f serverFlags
	f.register(fs, true)
	impl := fs.String("impl", "ref", "ours or ref")
	d := fs.Duration("duration", 10*time.Minute, "stop after this long")
	fs.Parse(args)
	dir, cleanup, err := f.workdir()
	if err != nil {
		return err
	}
	defer cleanup()
	var s *server
	if *impl == "ours" {
		s, err = startOurs(f.ours, dir, f.cpus, f.budget, true, "")
	} else {
		s, err = startRef(refBinary(f.ref), dir, f.cpus, f.seed, f.torrents)
	}
	if err != nil {
		return err
	}
	defer s.stop()
	if err := s.waitReady(f.seed, true, 10*time.Second); err != nil {
		return err
	}
	fmt.Printf("%s pid %d udp %v tcp %v\n", s.name, s.pid, s.udp, s.tcp)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case <-time.After(*d):
	case <-s.exited:
		return fmt.Errorf("%s exited: %v\n%s", s.name, s.exitErr, s.logText())
	}
	return nil
}
