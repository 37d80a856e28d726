//go:build linux

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// fillWorkload is a workload of n distinct IPv4 peers spread evenly over
// torrents: peer p announces torrent p % torrents from source address
// p % sources with port 1024 + p/sources, so every (ip, port) is distinct as
// long as sources >= n/64000.
func fillWorkload(seed uint64, n, torrents int) (*Workload, int, error) {
	sources := (n + 59999) / 60000
	w, err := NewWorkload(seed, torrents, n, sources, 2, 0.25)
	if err != nil {
		return nil, 0, err
	}
	for p := range w.Peers {
		w.Peers[p].torrent = uint32(p % torrents)
	}
	return w, sources, nil
}

// runFill announces every peer of w once over UDP (numwant 0), retrying lost
// requests, against target.
func runFill(w *Workload, sources int, target netip.AddrPort, limit time.Duration) (*counters, time.Duration, error) {
	// 64 requests in flight in all: more overflows the reference's default
	// socket receive buffer and only adds retries.
	depth := 64 / sources
	if depth < 2 {
		depth = 2
	}
	return runUDP(loadConfig{W: w, Targets: []netip.AddrPort{target}, Conns: sources, Depth: depth,
		Workers: 1, Fill: true, Duration: limit, Timeout: 500 * time.Millisecond})
}

// anonHugeKB reads a process's AnonHugePages (kB) from smaps_rollup; 0 if
// unknown.
func anonHugeKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("AnonHugePages:")); ok {
			return parseKB(v)
		}
	}
	return 0
}

type fullScrapeResult struct {
	Impl       string  `json:"impl"`
	Torrents   int     `json:"torrents"`
	PlainMs    float64 `json:"plain_ms"`
	PlainBytes int     `json:"plain_bytes"`
	GzipMs     float64 `json:"gzip_ms"`
	GzipBytes  int     `json:"gzip_bytes"`
	// Truncated: the reply ended before its Content-Length (Debian's
	// opentracker does this for full scrapes above about 3.5 MB).
	Truncated     bool  `json:"truncated,omitempty"`
	ContentLength int   `json:"content_length,omitempty"`
	GzipTruncated bool  `json:"gzip_truncated,omitempty"`
	PeakRSSKB     int64 `json:"server_peak_rss_kb"`
}

// fullScrapeRun fills a fresh server with one peer in each of n torrents and
// times GET /scrape (plain and gzip), median of 5.
func fullScrapeRun(sf *serverFlags, im impl, dir string, n int, seed uint64) (fullScrapeResult, error) {
	fr := fullScrapeResult{Impl: im.name}
	s, err := startImpl(sf, im, dir, n, seed, sf.budget, 0, true)
	if err != nil {
		return fr, err
	}
	defer s.stop()
	if err := s.waitReady(seed, true, 15*time.Second); err != nil {
		return fr, err
	}
	w, sources, err := fillWorkload(seed, n, n)
	if err != nil {
		return fr, err
	}
	c, _, err := runFill(w, sources, s.udp, 60*time.Second)
	if err != nil {
		return fr, err
	}
	if c.announces < uint64(n) {
		return fr, fmt.Errorf("fill answered %d of %d announces (errors %d: %d refused, %d I/O)", c.announces, n, c.errors, c.refused, c.ioErrors)
	}
	var plain, gz []float64
	for i := 0; i < 5; i++ {
		t := time.Now()
		st, body, err := httpGet(s.tcp, "/scrape", false, 30*time.Second)
		var tr errTruncated
		if errors.As(err, &tr) {
			fr.Truncated, fr.ContentLength = true, tr.want
		} else if err != nil {
			return fr, err
		}
		plain = append(plain, float64(time.Since(t).Microseconds())/1000)
		if st != 200 {
			return fr, fmt.Errorf("full scrape: HTTP %d: %.200q", st, body)
		}
		fr.PlainBytes = len(body)
		files, ok := scrapeBody(body)
		if !ok && !fr.Truncated {
			return fr, fmt.Errorf("full scrape: malformed reply after %d torrents", files)
		}
		fr.Torrents = files
		t = time.Now()
		_, body, err = httpGet(s.tcp, "/scrape", true, 30*time.Second)
		if errors.As(err, &tr) {
			fr.GzipTruncated = true
		} else if err != nil {
			return fr, err
		}
		gz = append(gz, float64(time.Since(t).Microseconds())/1000)
		fr.GzipBytes = len(body)
	}
	fr.PlainMs, fr.GzipMs = median(plain), median(gz)
	fr.PeakRSSKB, _, _ = procStatus(s.pid)
	return fr, nil
}

type fillResult struct {
	Impl         string  `json:"impl"`
	Peers        int     `json:"peers"`
	Torrents     int     `json:"torrents"`
	RSS0KB       int64   `json:"rss_before_kb"`
	RSS1KB       int64   `json:"rss_after_kb"`
	PeakKB       int64   `json:"peak_rss_kb"`
	BytesPerPeer float64 `json:"bytes_per_peer"`
	// HugeKB is the growth of the server's transparent huge pages over the
	// fill (AnonHugePages): memory the kernel gave in 2 MB pieces, which is
	// part of the RSS delta.
	HugeKB   int64   `json:"anon_huge_pages_delta_kb"`
	Seconds  float64 `json:"fill_seconds"`
	Reported string  `json:"server_reported_peers"`
	Timeouts uint64  `json:"timeouts"`
	Errors   uint64  `json:"errors"`
}

func (f fillResult) line() string {
	huge := ""
	if f.HugeKB != 0 {
		huge = fmt.Sprintf(", of which %s transparent huge pages", fmtKB(f.HugeKB))
	}
	return fmt.Sprintf("%d peers/%d torrents: RSS %s -> %s, %.1f bytes/peer%s (server counts %s peers; %.1fs, %d retries, %d errors)",
		f.Peers, f.Torrents, fmtKB(f.RSS0KB), fmtKB(f.RSS1KB), f.BytesPerPeer, huge, f.Reported, f.Seconds, f.Timeouts, f.Errors)
}

// statsFirstNumber asks /stats?mode=peer and returns its first line (the peer
// count in opentracker's MRTG format).
func statsFirstNumber(s *server, mode string) string {
	st, body, err := httpGet(s.tcp, "/stats?mode="+mode, false, 5*time.Second)
	if err != nil || st != 200 {
		return "?"
	}
	// opentracker: "<peers>\n<seeds>\n..."; a "name value" line also works.
	l, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	f := strings.Fields(l)
	if len(f) == 0 {
		return "?"
	}
	v := f[len(f)-1]
	if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		return "?"
	}
	return v
}

// fillRun measures memory per peer: RSS of a fresh server before and after n
// distinct IPv4 peers announce.
func fillRun(sf *serverFlags, im impl, dir string, n, torrents int, seed uint64) (fillResult, error) {
	fr := fillResult{Impl: im.name, Peers: n, Torrents: torrents}
	budget := sf.budget
	if sf.fillBudget != "" {
		budget = sf.fillBudget
	}
	s, err := startImpl(sf, im, dir, torrents, seed, budget, 0, true)
	if err != nil {
		return fr, err
	}
	defer s.stop()
	if err := s.waitReady(seed, true, 15*time.Second); err != nil {
		return fr, err
	}
	w, sources, err := fillWorkload(seed, n, torrents)
	if err != nil {
		return fr, err
	}
	time.Sleep(300 * time.Millisecond)
	_, fr.RSS0KB, _ = procStatus(s.pid)
	huge0 := anonHugeKB(s.pid)
	c, el, err := runFill(w, sources, s.udp, 4*time.Minute)
	if err != nil {
		return fr, err
	}
	fr.Seconds = el.Seconds()
	fr.Timeouts, fr.Errors = c.timeouts, c.errors
	time.Sleep(500 * time.Millisecond)
	fr.PeakKB, fr.RSS1KB, _ = procStatus(s.pid)
	fr.HugeKB = anonHugeKB(s.pid) - huge0
	fr.BytesPerPeer = float64(fr.RSS1KB-fr.RSS0KB) * 1024 / float64(n)
	fr.Reported = statsFirstNumber(s, "peer")
	if c.announces < uint64(n) {
		return fr, fmt.Errorf("only %d of %d announces answered (errors %d): %s", c.announces, n, c.errors, fr.line())
	}
	return fr, nil
}

func cmdFill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	var sf serverFlags
	sf.register(fs, true)
	peers := fs.String("peers", "100000,1000000", "peer counts, comma-separated")
	which := fs.String("impl", "ours,ref", "trackers to measure: ours, ref or both")
	jsonOut := fs.Bool("json", false, "print JSON")
	fs.Parse(args)
	if sf.loadCPUs != "" {
		if err := pinSelf(sf.loadCPUs); err != nil {
			return err
		}
	}
	dir, cleanup, err := sf.workdir()
	if err != nil {
		return err
	}
	defer cleanup()
	var impls []impl
	if strings.Contains(*which, "ours") {
		p, err := ensureOurs(sf.ours, false)
		if err != nil {
			return err
		}
		impls = append(impls, impl{name: "ours", bin: p, kind: "ours"})
	}
	if strings.Contains(*which, "ref") {
		if p := refBinary(sf.ref); p != "" {
			impls = append(impls, impl{name: "reference", bin: p, kind: "reference"})
		} else {
			fmt.Fprintln(os.Stderr, "otbench: reference opentracker not installed; skipped")
		}
	}
	var all []fillResult
	for _, n := range parseInts(*peers) {
		for _, im := range impls {
			fr, err := fillRun(&sf, im, dir, n, sf.torrents, sf.seed)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s %d: %v\n", im.name, n, err)
				continue
			}
			all = append(all, fr)
			if !*jsonOut {
				fmt.Printf("%-9s %s\n", im.name, fr.line())
			}
		}
	}
	if *jsonOut {
		return writeJSON(os.Stdout, all)
	}
	return nil
}

// heapSample is one /stats?mode=heap reading.
type heapSample struct {
	At     float64          `json:"t"`
	Values map[string]int64 `json:"values"`
	RSSKB  int64            `json:"rss_kb"`
	Err    string           `json:"error,omitempty"`
}

func parseNameValue(b []byte) map[string]int64 {
	m := map[string]int64{}
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		f := bytes.Fields(l)
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
			m[string(f[0])] = v
		}
	}
	return m
}

// cmdSoak runs a bounded sustained UDP load on this tracker and samples its
// Go heap through GET /stats?mode=heap, to show it flat after warm-up.
func cmdSoak(args []string) error {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	var sf serverFlags
	sf.register(fs, false)
	var lf loadFlags
	lf.register(fs)
	every := fs.Duration("every", 10*time.Second, "sampling interval")
	target := fs.String("target", "", "existing tracker: UDP ip:port (with -stats and -pid); default: start ours")
	statsAddr := fs.String("stats", "", "existing tracker: HTTP ip:port serving /stats?mode=heap")
	fs.Parse(args)
	if lf.duration > 30*time.Minute {
		return fmt.Errorf("-duration is capped at 30m")
	}
	if sf.loadCPUs != "" {
		if err := pinSelf(sf.loadCPUs); err != nil {
			return err
		}
	}
	var udp, tcp netip.AddrPort
	pid := lf.pid
	if *target == "" {
		dir, cleanup, err := sf.workdir()
		if err != nil {
			return err
		}
		defer cleanup()
		p, err := ensureOurs(sf.ours, false)
		if err != nil {
			return err
		}
		s, err := startOurs(p, dir+"/ours", sf.cpus, sf.budget, false, "")
		if err != nil {
			return err
		}
		defer s.stop()
		if err := s.waitReady(lf.seed, true, 10*time.Second); err != nil {
			return err
		}
		udp, tcp, pid = s.udp, s.tcp, s.pid
	} else {
		ts, err := parseTargets(*target + "," + *statsAddr)
		if err != nil || len(ts) != 2 {
			return fmt.Errorf("-target and -stats must both be loopback ip:port")
		}
		udp, tcp = ts[0], ts[1]
	}
	conns := orDefault(lf.conns, 8)
	w, err := lf.workload(conns)
	if err != nil {
		return err
	}
	w.ScrapePct = lf.scrapePct
	done := make(chan struct{})
	var lc *counters
	var lel time.Duration
	var lerr error
	go func() {
		defer close(done)
		lc, lel, lerr = runUDP(loadConfig{W: w, Targets: []netip.AddrPort{udp}, Conns: conns, Depth: lf.depth,
			Workers: lf.workers, Duration: lf.duration, Timeout: lf.timeout})
	}()
	start := time.Now()
	var series []heapSample
	tick := time.NewTicker(*every)
	defer tick.Stop()
	fmt.Printf("%8s %16s %16s %10s %10s\n", "t (s)", "heap_live_bytes", "heap_goal_bytes", "gc_cycles", "rss")
	sample := func() {
		hs := heapSample{At: time.Since(start).Seconds()}
		if pid > 0 {
			_, hs.RSSKB, _ = procStatus(pid)
		}
		st, body, err := httpGet(tcp, "/stats?mode=heap", false, 5*time.Second)
		switch {
		case err != nil:
			hs.Err = err.Error()
		case st != 200:
			hs.Err = fmt.Sprintf("HTTP %d", st)
		default:
			hs.Values = parseNameValue(body)
		}
		series = append(series, hs)
		if hs.Err != "" {
			fmt.Printf("%8.0f %16s %16s %10s %10s  (%s)\n", hs.At, "?", "?", "?", fmtKB(hs.RSSKB), hs.Err)
			return
		}
		fmt.Printf("%8.0f %16d %16d %10d %10s\n", hs.At, hs.Values["heap_live_bytes"], hs.Values["heap_goal_bytes"],
			hs.Values["gc_cycles"], fmtKB(hs.RSSKB))
	}
	sample()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			sample()
		}
	}
	sample()
	if lerr != nil {
		return lerr
	}
	r := makeResult("udp", udp.String(), lc, lel)
	fmt.Printf("\nload: %.0f responses/s over %.0fs, %d errors, %d timeouts\n", r.RespPerSec, r.Seconds, r.Errors, r.Timeouts)
	fmt.Println(soakVerdict(series))
	return nil
}

// soakVerdict compares heap_live after warm-up (the first third of the
// samples is warm-up) and reports its spread.
func soakVerdict(series []heapSample) string {
	var live []float64
	for i, s := range series {
		if i < len(series)/3 || s.Values == nil {
			continue
		}
		live = append(live, float64(s.Values["heap_live_bytes"]))
	}
	if len(live) < 2 {
		return "heap: not enough /stats?mode=heap samples after warm-up to judge"
	}
	first := live[0]
	sorted := append([]float64(nil), live...)
	sort.Float64s(sorted)
	lo, hi := sorted[0], sorted[len(sorted)-1]
	growth := 0.0
	if first > 0 {
		growth = (live[len(live)-1] - first) / first * 100
	}
	return fmt.Sprintf("heap after warm-up (%d samples): heap_live min %.1f MiB, max %.1f MiB, first->last %+.1f%%",
		len(live), lo/(1<<20), hi/(1<<20), growth)
}

func (f fullScrapeResult) line() string {
	s := fmt.Sprintf("%d torrents, plain %.1f ms (%d bytes), gzip %.1f ms (%d bytes)", f.Torrents, f.PlainMs, f.PlainBytes, f.GzipMs, f.GzipBytes)
	if f.Truncated {
		s += fmt.Sprintf("; plain reply TRUNCATED at %d of %d bytes", f.PlainBytes, f.ContentLength)
	}
	if f.GzipTruncated {
		s += "; gzip reply TRUNCATED"
	}
	return s
}
