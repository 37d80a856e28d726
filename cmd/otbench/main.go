//go:build linux

// Command otbench is the benchmark harness of this tracker: a load generator
// for BEP 15 UDP and HTTP trackers (`load`), a side-by-side comparison with
// the reference opentracker (`compare`, what `make bench` runs), a
// memory-per-peer fill and sustained heap run (`fill`, `soak`), and qemu-user
// router estimates (`qemu`). It only ever sends to loopback addresses.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: otbench <command> [flags]

commands:
  load     drive a tracker over UDP or HTTP and report throughput and latency
  compare  run every workload against this tracker, the reference and the floor, A B C A B C
  fill     memory per peer: load N distinct peers and report RSS delta / peer
  soak     sustained load on this tracker, sampling its Go heap via /stats?mode=heap
  qemu     run this tracker cross-built for mipsle/armv7 under qemu-user
  null     the floor: answer UDP and HTTP requests with same-size replies, no state
  pin      run a command pinned to CPUs: otbench pin -cpus 0 -- cmd args...

Run "otbench <command> -h" for the flags of a command.
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "load":
		err = cmdLoad(args)
	case "compare":
		err = cmdCompare(args)
	case "fill":
		err = cmdFill(args)
	case "soak":
		err = cmdSoak(args)
	case "qemu":
		err = cmdQemu(args)
	case "serve":
		err = cmdServe(args)
	case "null":
		err = cmdNull(args)
	case "pin":
		err = cmdPin(args)
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "otbench:", err)
		os.Exit(1)
	}
}

// parseTargets parses a comma-separated list of loopback ip:port.
func parseTargets(s string) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(f)
		if err != nil {
			return nil, err
		}
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if err := checkLoopback(ap); err != nil {
			return nil, err
		}
		out = append(out, ap)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no target address")
	}
	return out, nil
}

// parseCPUs parses "0", "1,3" or "0-1".
func parseCPUs(s string) (*unix.CPUSet, error) {
	var set unix.CPUSet
	set.Zero()
	for _, f := range strings.Split(s, ",") {
		lo, hi, rng := strings.Cut(f, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("bad cpu list %q", s)
		}
		b := a
		if rng {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("bad cpu list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			set.Set(i)
		}
	}
	if set.Count() == 0 {
		return nil, fmt.Errorf("empty cpu list %q", s)
	}
	return &set, nil
}

// pinSelf moves every thread of this process to the CPU set; threads created
// later inherit it.
func pinSelf(cpus string) error {
	set, err := parseCPUs(cpus)
	if err != nil {
		return err
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		if err := unix.SchedSetaffinity(tid, set); err != nil {
			return fmt.Errorf("sched_setaffinity: %w", err)
		}
	}
	return nil
}

// cmdPin pins itself and execs the command, which keeps the affinity and the
// PID. compare starts the servers this way.
func cmdPin(args []string) error {
	fs := flag.NewFlagSet("pin", flag.ExitOnError)
	cpus := fs.String("cpus", "0", "CPU list")
	fs.Parse(args)
	rest := fs.Args()
	if len(rest) == 0 {
		return fmt.Errorf("pin: no command")
	}
	if err := pinSelf(*cpus); err != nil {
		return err
	}
	path, err := exec.LookPath(rest[0])
	if err != nil {
		return err
	}
	return syscall.Exec(path, rest, os.Environ())
}

type loadFlags struct {
	udp, http             string
	duration              time.Duration
	requests              uint64
	conns, depth, workers int
	addrs                 int
	torrents, peers       int
	shape, seedProb       float64
	scrapePct, scrapeN    int
	numWant               int
	uniformGrow           bool
	keepAlive             bool
	timeout               time.Duration
	seed                  uint64
	pid                   int
	jsonOut               bool
	name, cpus            string
}

func (f *loadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.udp, "udp", "", "UDP tracker address(es), comma-separated ip:port (loopback only)")
	fs.StringVar(&f.http, "http", "", "HTTP tracker address(es), comma-separated ip:port (loopback only)")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "run time bound")
	fs.Uint64Var(&f.requests, "requests", 0, "request count bound (0: none)")
	fs.IntVar(&f.conns, "conns", 0, "UDP sockets or TCP connections (default 8 UDP, 32 HTTP)")
	fs.IntVar(&f.depth, "depth", 16, "UDP requests in flight per socket (pipelining)")
	fs.IntVar(&f.workers, "workers", 1, "event loops (OS threads)")
	fs.IntVar(&f.addrs, "addrs", 0, "distinct 127.1.x.y source addresses (0: one per socket/connection)")
	fs.IntVar(&f.torrents, "torrents", 10000, "torrents in the workload")
	fs.IntVar(&f.peers, "peers", 100000, "peer population")
	fs.Float64Var(&f.shape, "shape", 2.0, "Pareto shape of torrent popularity")
	fs.Float64Var(&f.seedProb, "seed-prob", 0.25, "share of peers that start as seeders")
	fs.IntVar(&f.scrapePct, "scrape-pct", 0, "share of requests that are scrapes, percent")
	fs.IntVar(&f.scrapeN, "scrape-hashes", 10, "info_hashes per scrape")
	fs.IntVar(&f.numWant, "numwant", 50, "numwant of announces")
	fs.BoolVar(&f.uniformGrow, "uniform-grow", false, "second workload: uniform popularity, every announce a new peer (swarms grow); use with -requests <= -peers")
	fs.BoolVar(&f.keepAlive, "keepalive", true, "HTTP: reuse connections (false: one request per connection)")
	fs.DurationVar(&f.timeout, "timeout", time.Second, "a request unanswered this long counts as a timeout")
	fs.Uint64Var(&f.seed, "seed", 1, "workload random seed")
	fs.IntVar(&f.pid, "pid", 0, "server PID: report its peak RSS and CPU seconds")
	fs.BoolVar(&f.jsonOut, "json", false, "print JSON instead of a table")
	fs.StringVar(&f.name, "name", "", "run name in the output")
	fs.StringVar(&f.cpus, "cpus", "", "pin the generator to these CPUs (e.g. 1)")
}

func (f *loadFlags) workload(sources int) (*Workload, error) {
	w, err := NewWorkload(f.seed, f.torrents, f.peers, sources, f.shape, f.seedProb)
	if err != nil {
		return nil, err
	}
	w.NumWant = int32(f.numWant)
	w.ScrapePct = f.scrapePct
	w.ScrapeN = f.scrapeN
	if f.uniformGrow {
		w.MakeUniformGrowing()
	}
	return w, nil
}

// runLoad runs one load described by flags and returns its result.
func runLoad(f *loadFlags) (Result, error) {
	if (f.udp == "") == (f.http == "") {
		return Result{}, fmt.Errorf("give exactly one of -udp and -http")
	}
	proto, addr := "udp", f.udp
	if f.http != "" {
		proto, addr = "http", f.http
	}
	targets, err := parseTargets(addr)
	if err != nil {
		return Result{}, err
	}
	conns := f.conns
	if conns <= 0 {
		conns = 8
		if proto == "http" {
			conns = 32
		}
	}
	w, err := f.workload(conns)
	if err != nil {
		return Result{}, err
	}
	cfg := loadConfig{W: w, Targets: targets, Conns: conns, Depth: f.depth, Workers: f.workers,
		Addrs: f.addrs, Timeout: f.timeout, Duration: f.duration, MaxRequests: f.requests, KeepAlive: f.keepAlive}
	if f.duration <= 0 && f.requests == 0 {
		return Result{}, fmt.Errorf("give a -duration or -requests bound")
	}
	var samp *procSampler
	if f.pid > 0 {
		samp = startSampler(f.pid)
	}
	var c *counters
	var el time.Duration
	cpu0 := selfCPU()
	if proto == "udp" {
		c, el, err = runUDP(cfg)
	} else {
		if proto == "http" && !f.keepAlive {
			proto = "http1"
		}
		c, el, err = runHTTP(cfg)
	}
	if err != nil {
		return Result{}, err
	}
	r := makeResult(proto, addr, c, el)
	r.Name = f.name
	r.LoadAvg = loadAvg()
	if el > 0 {
		r.GenCPUPct = float64(selfCPU()-cpu0) / float64(el) * 100
	}
	if samp != nil {
		samp.finish(&r)
	}
	return r, nil
}

func cmdLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	var f loadFlags
	f.register(fs)
	fs.Parse(args)
	if f.cpus != "" {
		if err := pinSelf(f.cpus); err != nil {
			return err
		}
	}
	r, err := runLoad(&f)
	if err != nil {
		return err
	}
	if f.jsonOut {
		return writeJSON(os.Stdout, r)
	}
	writeTable(os.Stdout, []Result{r})
	return nil
}
