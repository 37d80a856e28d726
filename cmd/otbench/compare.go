//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// workloadSpec is one row of the comparison.
type workloadSpec struct {
	name  string
	udp   bool
	flags func(f *loadFlags)
}

// growRequests is the announce count of the uniform-grow workloads: every
// announce is a new peer, so it is also the population. A request bound
// instead of a time bound gives every server the same announces, and so the
// same swarm sizes, however fast it answers.
var growRequests = 600000

func compareWorkloads() []workloadSpec {
	return []workloadSpec{
		{"udp-announce", true, func(f *loadFlags) {}},
		{"udp-mixed", true, func(f *loadFlags) { f.scrapePct = 10 }},
		{"http-keepalive", false, func(f *loadFlags) { f.keepAlive = true }},
		{"http-newconn", false, func(f *loadFlags) { f.keepAlive = false }},
		{"udp-uniform", true, uniformGrow},
		{"http-uniform", false, func(f *loadFlags) {
			uniformGrow(f)
			f.keepAlive = true
			// HTTP is slower per request, the reference's (one
			// connection per request) several times: a quarter as many.
			f.requests /= 4
			f.peers /= 4
		}},
	}
}

// uniformGrow is the second workload: uniform popularity, swarms that grow
// for the whole run (every announce a new peer), numwant at the reference's
// maximum of 200.
func uniformGrow(f *loadFlags) {
	f.uniformGrow = true
	f.numWant = 200
	f.requests = uint64(growRequests)
	f.peers = growRequests
	// The request bound must end the run, not the clock.
	f.duration = max(f.duration*20, 3*time.Minute)
}

// impl is one server under test: this tracker, the reference, or the null
// responder (the floor). wrapper runs it under qemu-user.
type impl struct {
	name    string
	bin     string
	kind    string // "ours", "reference" or "null"
	wrapper []string
	ldRoot  string // reference under qemu: the unpacked Debian root
	// peersFrom names the tracker whose reply size a null responder copies
	// (default "ours").
	peersFrom string
}

type compareOut struct {
	Machine    machineInfo        `json:"machine"`
	Settings   map[string]string  `json:"settings"`
	Runs       []Result           `json:"runs"`
	Scrapes    []fullScrapeResult `json:"full_scrape,omitempty"`
	Fills      []fillResult       `json:"fill,omitempty"`
	Summary    []summaryRow       `json:"summary"`
	CPU        []cpuRow           `json:"cpu_per_reply"`
	Notes      []string           `json:"notes,omitempty"`
	Skipped    map[string]string  `json:"skipped,omitempty"`
	extraLines []string
}

type summaryRow struct {
	Workload     string  `json:"workload"`
	Metric       string  `json:"metric"`
	Ours         float64 `json:"ours"`
	Ref          float64 `json:"reference"`
	Ratio        float64 `json:"ratio"`
	OursRSSKB    int64   `json:"ours_peak_rss_kb,omitempty"`
	RefRSSKB     int64   `json:"ref_peak_rss_kb,omitempty"`
	RSSRatio     float64 `json:"rss_ratio,omitempty"`
	OursP99      float64 `json:"ours_p99_ms,omitempty"`
	RefP99       float64 `json:"ref_p99_ms,omitempty"`
	OursCPUPerK  float64 `json:"ours_cpu_ms_per_1k,omitempty"`
	RefCPUPerK   float64 `json:"ref_cpu_ms_per_1k,omitempty"`
	OursErrRatio float64 `json:"ours_error_share,omitempty"`
	RefErrRatio  float64 `json:"ref_error_share,omitempty"`
}

type machineInfo struct {
	CPUs   int    `json:"cpus"`
	Model  string `json:"cpu_model"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Date   string `json:"date"`
}

func getMachine() machineInfo {
	m := machineInfo{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "processor") {
				m.CPUs++
			}
			if m.Model == "" && strings.HasPrefix(l, "model name") {
				_, v, _ := strings.Cut(l, ":")
				m.Model = strings.TrimSpace(v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		m.Go = strings.TrimSpace(string(out))
	}
	return m
}

// ensureOurs returns the path of this tracker's binary, building it from the
// module source when it is missing.
func ensureOurs(path string, build bool) (string, error) {
	if _, err := os.Stat(path); err == nil && !build {
		return path, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("%s missing and no module to build it from: %w", path, err)
	}
	fmt.Fprintf(os.Stderr, "building %s\n", path)
	cmd := exec.Command("go", "build", "-trimpath", "-o", path, "./cmd/opentracker")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building this tracker: %w", err)
	}
	return path, nil
}

func moduleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "opentracker-go/opentracker") {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", fmt.Errorf("go.mod of github.com/opentracker-go/opentracker not found above the working directory")
		}
		d = p
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func cmdCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	var sf serverFlags
	sf.register(fs, false)
	var lf loadFlags
	lf.register(fs)
	rounds := fs.Int("rounds", 3, "A B rounds per workload")
	only := fs.String("workloads", "udp-announce,udp-mixed,http-keepalive,http-newconn,udp-uniform,http-uniform,fullscrape,fill", "workloads to run, comma-separated")
	build := fs.Bool("build", false, "rebuild this tracker's binary even if it exists")
	withNull := fs.Bool("null", true, "also run the null responder (the floor)")
	growN := fs.Int("grow-requests", growRequests, "announces (and new peers) per uniform-grow run")
	scrapeTorrents := fs.Int("fullscrape-torrents", 40000, "torrents in the store for the full scrape workload (the reference truncates replies above about 3.5 MB, 50k torrents)")
	fillPeers := fs.String("fill-peers", "1000000", "peer counts for the memory fill, comma-separated")
	outJSON := fs.String("out", "", "also write all results as JSON to this file")
	fs.Parse(args)
	sf.torrents, sf.seed = lf.torrents, lf.seed
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

	out := compareOut{Machine: getMachine(), Skipped: map[string]string{}, Settings: map[string]string{
		"duration": lf.duration.String(), "rounds": fmt.Sprint(*rounds), "server_cpus": sf.cpus,
		"load_cpus": sf.loadCPUs, "torrents": fmt.Sprint(lf.torrents), "peers": fmt.Sprint(lf.peers),
		"udp_sockets_x_depth": fmt.Sprintf("%dx%d", orDefault(lf.conns, 8), lf.depth),
		"http_connections":    fmt.Sprint(orDefault(lf.conns, 32)), "numwant": fmt.Sprint(lf.numWant),
		"budget": sf.budget,
	}}
	var impls []impl
	if p, err := ensureOurs(sf.ours, *build); err != nil {
		out.Skipped["ours"] = err.Error()
		fmt.Fprintln(os.Stderr, "otbench: this tracker unavailable:", err)
	} else {
		impls = append(impls, impl{name: "ours", bin: p, kind: "ours"})
	}
	if p := refBinary(sf.ref); p != "" {
		impls = append(impls, impl{name: "reference", bin: p, kind: "reference"})
	} else {
		out.Skipped["reference"] = "opentracker not installed (apt-get install opentracker)"
		fmt.Fprintln(os.Stderr, "otbench: reference opentracker not installed")
	}
	if len(impls) == 0 {
		return fmt.Errorf("nothing to benchmark")
	}
	if *withNull {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		impls = append(impls, impl{name: "null", bin: self, kind: "null", peersFrom: "ours"})
	}
	growRequests = *growN
	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		want[strings.TrimSpace(w)] = true
	}
	t0 := time.Now()
	for _, wl := range compareWorkloads() {
		if !want[wl.name] {
			continue
		}
		for r := 0; r < *rounds; r++ {
			for _, im := range impls {
				if im.kind == "null" && (wl.name == "udp-mixed") {
					continue
				}
				res, err := compareRun(&sf, lf, wl, im, dir, nullPeers(out.Runs, wl.name, im.peersFrom))
				res.Round = r + 1
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s %s round %d: %v\n", wl.name, im.name, r+1, err)
					out.Notes = append(out.Notes, fmt.Sprintf("%s %s round %d failed: %v", wl.name, im.name, r+1, firstLine(err.Error())))
					continue
				}
				out.Runs = append(out.Runs, res)
				fmt.Fprintf(os.Stderr, "%-15s %-9s round %d: %8.0f resp/s, errors %d, timeouts %d, p99 %.2f ms, peak RSS %s, server cpu %.2fs, generator cpu %.0f%%\n",
					wl.name, im.name, r+1, res.RespPerSec, res.Errors, res.Timeouts, res.P99Ms, fmtKB(res.PeakRSSKB), res.CPUSeconds, res.GenCPUPct)
			}
		}
	}
	if want["fullscrape"] {
		for r := 0; r < *rounds; r++ {
			for _, im := range impls {
				if im.kind == "null" {
					continue
				}
				fr, err := fullScrapeRun(&sf, im, dir, *scrapeTorrents, lf.seed)
				if err != nil {
					fmt.Fprintf(os.Stderr, "fullscrape %s: %v\n", im.name, err)
					out.Notes = append(out.Notes, fmt.Sprintf("fullscrape %s failed: %v", im.name, firstLine(err.Error())))
					continue
				}
				out.Scrapes = append(out.Scrapes, fr)
				fmt.Fprintf(os.Stderr, "fullscrape      %-9s round %d: %s\n", im.name, r+1, fr.line())
			}
		}
	}
	if want["fill"] {
		for _, n := range parseInts(*fillPeers) {
			for _, im := range impls {
				if im.kind == "null" {
					continue
				}
				fr, err := fillRun(&sf, im, dir, n, 10000, lf.seed)
				if err != nil {
					fmt.Fprintf(os.Stderr, "fill %d %s: %v\n", n, im.name, err)
					out.Notes = append(out.Notes, fmt.Sprintf("fill %d %s failed: %v", n, im.name, firstLine(err.Error())))
					continue
				}
				out.Fills = append(out.Fills, fr)
				fmt.Fprintf(os.Stderr, "fill %-8d      %-9s: %s\n", n, im.name, fr.line())
			}
		}
	}
	out.Summary = summarize(&out)
	out.CPU = cpuRows(out.Runs, workloadNames(compareWorkloads()), compareColumns, compareRatios)
	fmt.Fprintf(os.Stderr, "compare took %v\n", time.Since(t0).Round(time.Second))
	printSummary(os.Stdout, &out)
	if *outJSON != "" {
		f, err := os.Create(*outJSON)
		if err != nil {
			return err
		}
		defer f.Close()
		return writeJSON(f, out)
	}
	return nil
}

var (
	compareColumns = []cpuColumn{{"ours µs", "ours"}, {"ref µs", "reference"}, {"floor µs", "null"}}
	compareRatios  = []cpuRatio{{"ours/ref", "ours", "reference"}, {"ours/floor", "ours", "null"}, {"ref/floor", "reference", "null"}}
)

func workloadNames(ws []workloadSpec) []string {
	var n []string
	for _, w := range ws {
		n = append(n, w.name)
	}
	return n
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// startImpl starts one server for a run; peers is the null responder's
// peers per announce reply, udp the protocol it serves (the trackers serve
// both).
func startImpl(sf *serverFlags, im impl, dir string, torrents int, seed uint64, budget string, peers int, udp bool) (*server, error) {
	d := filepath.Join(dir, im.name)
	os.RemoveAll(d)
	switch im.kind {
	case "ours":
		return startOursWith(im.wrapper, im.bin, d, sf.cpus, budget, false, "")
	case "null":
		return startNull(im.wrapper, im.bin, d, sf.cpus, peers, udp)
	}
	return startRefWith(im.wrapper, im.ldRoot, im.bin, d, sf.cpus, seed, torrents)
}

// nullPeers returns the median peers per announce reply of the runs of
// workload by impl so far: the null responder answers with as many, so that
// its replies are as large as the tracker's.
func nullPeers(runs []Result, workload, impl string) int {
	var v []float64
	for _, r := range runs {
		if r.Name == workload+"/"+impl {
			v = append(v, r.PeersPerAnn)
		}
	}
	if len(v) == 0 {
		return 50
	}
	return int(median(v) + 0.5)
}

// compareRun starts a fresh server, runs one workload against it and stops
// it.
func compareRun(sf *serverFlags, lf loadFlags, wl workloadSpec, im impl, dir string, peers int) (Result, error) {
	s, err := startImpl(sf, im, dir, lf.torrents, lf.seed, sf.budget, peers, wl.udp)
	if err != nil {
		return Result{}, err
	}
	defer s.stop()
	ready := 10 * time.Second
	if im.wrapper != nil {
		ready = 60 * time.Second // qemu-user starts slowly on a loaded machine
	}
	if err := s.waitReady(lf.seed, wl.udp, ready); err != nil {
		return Result{}, err
	}
	wl.flags(&lf)
	lf.udp, lf.http = "", ""
	if wl.udp {
		lf.udp = s.udp.String()
	} else {
		lf.http = s.tcp.String()
	}
	lf.pid = s.pid
	lf.name = wl.name + "/" + im.name
	res, err := runLoad(&lf)
	if err != nil {
		return res, err
	}
	if !s.alive() {
		return res, fmt.Errorf("%s died during the run: %v\n%s", im.name, s.exitErr, s.logText())
	}
	return res, nil
}

func summarize(out *compareOut) []summaryRow {
	var rows []summaryRow
	for _, wl := range compareWorkloads() {
		var o, r []Result
		for _, res := range out.Runs {
			switch res.Name {
			case wl.name + "/ours":
				o = append(o, res)
			case wl.name + "/reference":
				r = append(r, res)
			}
		}
		if len(o) == 0 && len(r) == 0 {
			continue
		}
		med := func(rs []Result, f func(Result) float64) float64 {
			var v []float64
			for _, x := range rs {
				v = append(v, f(x))
			}
			return median(v)
		}
		row := summaryRow{Workload: wl.name, Metric: "responses/s"}
		row.Ours = med(o, func(x Result) float64 { return x.RespPerSec })
		row.Ref = med(r, func(x Result) float64 { return x.RespPerSec })
		row.Ratio = ratio(row.Ours, row.Ref)
		row.OursRSSKB = int64(med(o, func(x Result) float64 { return float64(x.PeakRSSKB) }))
		row.RefRSSKB = int64(med(r, func(x Result) float64 { return float64(x.PeakRSSKB) }))
		row.RSSRatio = ratio(float64(row.OursRSSKB), float64(row.RefRSSKB))
		row.OursP99 = med(o, func(x Result) float64 { return x.P99Ms })
		row.RefP99 = med(r, func(x Result) float64 { return x.P99Ms })
		cpuPerK := func(x Result) float64 {
			if x.Responses == 0 {
				return 0
			}
			return x.CPUSeconds * 1e6 / float64(x.Responses)
		}
		row.OursCPUPerK = med(o, cpuPerK)
		row.RefCPUPerK = med(r, cpuPerK)
		errShare := func(x Result) float64 {
			if x.Requests == 0 {
				return 0
			}
			return float64(x.Errors+x.Timeouts) / float64(x.Requests)
		}
		row.OursErrRatio = med(o, errShare)
		row.RefErrRatio = med(r, errShare)
		rows = append(rows, row)
	}
	if len(out.Scrapes) > 0 {
		var o, r, og, rg []float64
		for _, s := range out.Scrapes {
			if s.Impl == "ours" {
				o, og = append(o, s.PlainMs), append(og, s.GzipMs)
			} else {
				r, rg = append(r, s.PlainMs), append(rg, s.GzipMs)
			}
		}
		rows = append(rows, summaryRow{Workload: "fullscrape", Metric: "ms per full scrape, plain (lower is better)",
			Ours: median(o), Ref: median(r), Ratio: ratio(median(o), median(r))})
		rows = append(rows, summaryRow{Workload: "fullscrape-gzip", Metric: "ms per full scrape, gzip (lower is better)",
			Ours: median(og), Ref: median(rg), Ratio: ratio(median(og), median(rg))})
	}
	return rows
}

func printSummary(w io.Writer, out *compareOut) {
	m := out.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, Linux %s, %s, %s\n", m.CPUs, m.Model, m.Kernel, m.Go, m.Date)
	fmt.Fprintf(w, "settings: server pinned to CPU %s, generator to CPU %s, %s per run, %s rounds (medians), %s torrents, %s peers\n\n",
		out.Settings["server_cpus"], out.Settings["load_cpus"], out.Settings["duration"], out.Settings["rounds"],
		out.Settings["torrents"], out.Settings["peers"])
	fmt.Fprintf(w, "%-15s %11s %11s %7s %9s %9s %6s %8s %8s %8s %8s %7s\n",
		"workload", "ours/s", "ref/s", "ratio", "oursRSS", "refRSS", "ratio", "ours p99", "ref p99", "ours cpu", "ref cpu", "cpu x")
	for _, r := range out.Summary {
		if strings.HasPrefix(r.Workload, "fullscrape") {
			continue
		}
		fmt.Fprintf(w, "%-15s %11.0f %11.0f %7.2f %9s %9s %6.2f %8.2f %8.2f %8.1f %8.1f %7.2f\n",
			r.Workload, r.Ours, r.Ref, r.Ratio, fmtKB(r.OursRSSKB), fmtKB(r.RefRSSKB), r.RSSRatio,
			r.OursP99, r.RefP99, r.OursCPUPerK, r.RefCPUPerK, ratio(r.RefCPUPerK, r.OursCPUPerK))
	}
	if len(out.CPU) > 0 {
		fmt.Fprintf(w, "\nserver CPU per reply, µs (range over %s rounds; ratios taken within each round, lower is better for ours):\n",
			out.Settings["rounds"])
		printCPUTable(w, out.CPU, compareColumns, compareRatios)
		fmt.Fprintf(w, "(floor: the null responder, which does the same socket work with same-size replies and keeps no state;\n"+
			" udp-uniform/http-uniform: uniform popularity, every announce a new peer, numwant 200, %d (HTTP %d) announces per run)\n\n",
			growRequests, growRequests/4)
	}
	fmt.Fprintf(w, "(ours/s, ref/s: median responses per second; ratio: ours/reference, higher is better;\n"+
		" RSS: median peak RSS; p99 in ms; cpu: server CPU µs per response; cpu x: reference µs / ours µs,\n"+
		" higher is better, and less sensitive than throughput to other load on the machine)\n")
	lo, hi := 0.0, 0.0
	for i, r := range out.Runs {
		if i == 0 || r.LoadAvg < lo {
			lo = r.LoadAvg
		}
		if r.LoadAvg > hi {
			hi = r.LoadAvg
		}
	}
	if len(out.Runs) > 0 {
		fmt.Fprintf(w, "1-minute load average at the end of the runs: %.1f to %.1f", lo, hi)
		if hi > float64(out.Machine.CPUs)+0.5 {
			fmt.Fprintf(w, " (other processes competed for the CPUs: throughput is noisy, trust cpu x more)")
		}
		fmt.Fprintln(w)
	}
	if len(out.Scrapes) > 0 {
		fmt.Fprintf(w, "\nfull scrape (GET /scrape of a store with one peer per torrent; median of 5 per round, then of rounds):\n")
		for _, r := range out.Summary {
			if strings.HasPrefix(r.Workload, "fullscrape") {
				fmt.Fprintf(w, "  %-16s ours %8.1f ms, reference %8.1f ms, ratio ours/ref %.2f (lower is better)\n", r.Workload, r.Ours, r.Ref, r.Ratio)
			}
		}
		seen := map[string]bool{}
		for _, s := range out.Scrapes {
			if !seen[s.Impl] {
				seen[s.Impl] = true
				fmt.Fprintf(w, "  %-9s %s\n", s.Impl, s.line())
			}
		}
	}
	if len(out.Fills) > 0 {
		fmt.Fprintf(w, "\nmemory fill (distinct IPv4 peers over 10k torrents, RSS delta / peers):\n")
		for _, f := range out.Fills {
			fmt.Fprintf(w, "  %-9s %s\n", f.Impl, f.line())
		}
		for _, n := range uniquePeers(out.Fills) {
			var o, r float64
			for _, f := range out.Fills {
				if f.Peers == n && f.Impl == "ours" {
					o = f.BytesPerPeer
				} else if f.Peers == n {
					r = f.BytesPerPeer
				}
			}
			if o > 0 && r > 0 {
				fmt.Fprintf(w, "  %d peers: bytes/peer ours/ref = %.2f (lower is better)\n", n, o/r)
			}
		}
	}
	for k, v := range out.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", k, v)
	}
	for _, n := range out.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func uniquePeers(fs []fillResult) []int {
	seen := map[int]bool{}
	var out []int
	for _, f := range fs {
		if !seen[f.Peers] {
			seen[f.Peers] = true
			out = append(out, f.Peers)
		}
	}
	return out
}
