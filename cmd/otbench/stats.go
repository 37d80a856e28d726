//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// hist is a log-linear latency histogram in nanoseconds: 16 sub-buckets per
// power of two (about 6% resolution). Recording is one increment.
type hist struct{ b [64 * 16]uint64 }

func histIndex(v uint64) int {
	if v < 16 {
		return int(v)
	}
	e := bits.Len64(v) - 5 // v >> e has 5 bits: 16..31
	return (e+1)*16 + int((v>>uint(e))&15)
}

// histLow returns the smallest value of bucket i.
func histLow(i int) uint64 {
	if i < 16 {
		return uint64(i)
	}
	e := i/16 - 1
	return (16 + uint64(i%16)) << uint(e)
}

func (h *hist) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.b[histIndex(uint64(ns))]++
}

func (h *hist) merge(o *hist) {
	for i := range h.b {
		h.b[i] += o.b[i]
	}
}

func (h *hist) count() uint64 {
	var n uint64
	for _, c := range h.b {
		n += c
	}
	return n
}

// quantile returns the q-quantile (0..1) in nanoseconds, as the midpoint of
// its bucket; 0 when empty.
func (h *hist) quantile(q float64) float64 {
	n := h.count()
	if n == 0 {
		return 0
	}
	target := uint64(q*float64(n-1)) + 1
	var c uint64
	for i, v := range h.b {
		c += v
		if c >= target {
			lo := histLow(i)
			hi := histLow(i + 1)
			if i+1 >= len(h.b) {
				hi = lo
			}
			return float64(lo+hi) / 2
		}
	}
	return 0
}

// counters are one engine's tallies; each worker owns its own copy.
type counters struct {
	requests   uint64 // requests sent (announce, scrape, connect)
	responses  uint64 // well-formed responses of the expected kind
	announces  uint64 // announce responses
	scrapes    uint64 // scrape responses
	connects   uint64 // UDP connect responses
	errors     uint64 // error responses, refusals, malformed replies, I/O errors
	refused    uint64 // of errors: announces refused (8-byte UDP reply, HTTP failure reason, non-200)
	ioErrors   uint64 // of errors: socket errors
	timeouts   uint64 // UDP requests with no answer in time
	reconnects uint64 // TCP connections opened
	closes     uint64 // TCP connections the server closed after a reply
	peers      uint64 // peers returned in announce responses
	bytesIn    uint64
	lat        hist
}

func (c *counters) merge(o *counters) {
	c.requests += o.requests
	c.responses += o.responses
	c.announces += o.announces
	c.scrapes += o.scrapes
	c.connects += o.connects
	c.errors += o.errors
	c.refused += o.refused
	c.ioErrors += o.ioErrors
	c.timeouts += o.timeouts
	c.reconnects += o.reconnects
	c.closes += o.closes
	c.peers += o.peers
	c.bytesIn += o.bytesIn
	c.lat.merge(&o.lat)
}

// Result is what `otbench load` reports, in the table and as JSON.
type Result struct {
	Name        string  `json:"name,omitempty"`
	Round       int     `json:"round,omitempty"`
	Proto       string  `json:"proto"`
	Target      string  `json:"target"`
	Seconds     float64 `json:"seconds"`
	Requests    uint64  `json:"requests"`
	Responses   uint64  `json:"responses"`
	Announces   uint64  `json:"announces"`
	Scrapes     uint64  `json:"scrapes"`
	Connects    uint64  `json:"connects"`
	Errors      uint64  `json:"errors"`
	Timeouts    uint64  `json:"timeouts"`
	Refused     uint64  `json:"refused"`
	IOErrors    uint64  `json:"io_errors"`
	Conns       uint64  `json:"tcp_connections,omitempty"`
	ServerClose uint64  `json:"server_closes,omitempty"`
	PeersPerAnn float64 `json:"peers_per_announce"`
	BytesIn     uint64  `json:"bytes_in"`
	ReqPerSec   float64 `json:"requests_per_sec"`
	RespPerSec  float64 `json:"responses_per_sec"`
	P50Ms       float64 `json:"latency_p50_ms"`
	P99Ms       float64 `json:"latency_p99_ms"`
	// Server figures, with -pid.
	PID        int     `json:"pid,omitempty"`
	PeakRSSKB  int64   `json:"server_peak_rss_kb,omitempty"`
	RSSKB      int64   `json:"server_rss_kb,omitempty"`
	CPUSeconds float64 `json:"server_cpu_seconds,omitempty"`
	// GenCPUPct is the generator's own CPU use over the run in percent of one
	// core: near 100 means the generator, not the server, set the pace.
	GenCPUPct float64 `json:"generator_cpu_pct"`
	// LoadAvg is the machine's 1-minute load average at the end of the run:
	// above about 2 on a 2-core machine, other processes took CPU time from
	// the server or the generator.
	LoadAvg float64 `json:"loadavg_1m"`
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(string(f[0]), 64)
	return v
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func makeResult(proto, target string, c *counters, d time.Duration) Result {
	s := d.Seconds()
	r := Result{
		Proto: proto, Target: target, Seconds: s,
		Requests: c.requests, Responses: c.responses, Announces: c.announces,
		Scrapes: c.scrapes, Connects: c.connects, Errors: c.errors, Timeouts: c.timeouts, Refused: c.refused, IOErrors: c.ioErrors,
		Conns: c.reconnects, ServerClose: c.closes, BytesIn: c.bytesIn,
		P50Ms: c.lat.quantile(0.50) / 1e6, P99Ms: c.lat.quantile(0.99) / 1e6,
	}
	if s > 0 {
		r.ReqPerSec = float64(c.requests) / s
		r.RespPerSec = float64(c.responses) / s
	}
	if c.announces > 0 {
		r.PeersPerAnn = float64(c.peers) / float64(c.announces)
	}
	return r
}

func writeTable(w io.Writer, rs []Result) {
	fmt.Fprintf(w, "%-22s %-5s %8s %10s %10s %8s %8s %8s %9s %9s %9s %8s %6s\n",
		"run", "proto", "secs", "req/s", "resp/s", "errors", "timeout", "peers/a", "p50 ms", "p99 ms", "peakRSS", "cpu s", "gen%")
	for _, r := range rs {
		rss, cpu := "-", "-"
		if r.PID != 0 {
			rss = fmtKB(r.PeakRSSKB)
			cpu = fmt.Sprintf("%.2f", r.CPUSeconds)
		}
		name := r.Name
		if name == "" {
			name = r.Target
		}
		fmt.Fprintf(w, "%-22s %-5s %8.2f %10.0f %10.0f %8d %8d %8.1f %9.3f %9.3f %9s %8s %6.0f\n",
			name, r.Proto, r.Seconds, r.ReqPerSec, r.RespPerSec, r.Errors, r.Timeouts,
			r.PeersPerAnn, r.P50Ms, r.P99Ms, rss, cpu, r.GenCPUPct)
	}
}

func fmtKB(kb int64) string {
	switch {
	case kb >= 10*1024:
		return fmt.Sprintf("%.1fM", float64(kb)/1024)
	default:
		return fmt.Sprintf("%dK", kb)
	}
}

func writeJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

// procStatus reads VmHWM and VmRSS (kB) of a process.
func procStatus(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			hwm = parseKB(v)
		} else if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			rss = parseKB(v)
		}
	}
	return hwm, rss, nil
}

func parseKB(v []byte) int64 {
	v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n
}

// clkTck is USER_HZ; 100 on every Linux architecture Go supports.
const clkTck = 100

// procCPU returns the user+system CPU seconds of a process (all threads).
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseUint(string(f[11]), 10, 64)
	st, _ := strconv.ParseUint(string(f[12]), 10, 64)
	return float64(ut+st) / clkTck, nil
}

// procSampler samples a server's RSS while a run lasts and its CPU time at
// start and end.
type procSampler struct {
	pid      int
	cpu0     float64
	peak     int64
	last     int64
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	interval time.Duration
}

func startSampler(pid int) *procSampler {
	s := &procSampler{pid: pid, stop: make(chan struct{}), interval: 100 * time.Millisecond}
	s.cpu0, _ = procCPU(pid)
	s.sample()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *procSampler) sample() {
	hwm, rss, err := procStatus(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	if hwm > s.peak {
		s.peak = hwm
	}
	if rss > s.peak {
		s.peak = rss
	}
	s.last = rss
	s.mu.Unlock()
}

// finish stops sampling and fills the server fields of r.
func (s *procSampler) finish(r *Result) {
	close(s.stop)
	s.wg.Wait()
	s.sample()
	cpu1, _ := procCPU(s.pid)
	r.PID = s.pid
	r.PeakRSSKB = s.peak
	r.RSSKB = s.last
	r.CPUSeconds = cpu1 - s.cpu0
}
