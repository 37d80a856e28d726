//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// qemuTarget is one architecture run under qemu-user (or natively, with no
// wrapper): this tracker and the null responder cross-built for it, and the
// reference where Debian's build for it is unpacked.
type qemuTarget struct {
	arch    string // suffix of the impl names
	env     []string
	wrapper []string // empty: native
}

// qemuCPU is the emulated CPU. A MIPS 24Kf is the 24Kc of the routers this
// tracker is built for plus an FPU: Debian's mipsel build (the reference)
// uses hardware floating point and faults on a 24Kc, while our softfloat
// build never touches the FPU, so both run on one CPU model.
const qemuCPU = "24Kf"

func qemuTargets() []qemuTarget {
	return []qemuTarget{
		{"native", nil, nil},
		{"mipsle", []string{"GOARCH=mipsle", "GOMIPS=softfloat"}, []string{"qemu-mipsel-static", "-cpu", qemuCPU}},
		{"armv7", []string{"GOARCH=arm", "GOARM=7"}, []string{"qemu-arm-static", "-cpu", "cortex-a7"}},
	}
}

// crossBuild builds pkg for a target into dir as name-arch. MIPS builds
// get the Go runtime's usleep corrected, as the OpenWrt packages do (see
// openwrt/mips-usleep.sh): without it the runtime's monitor thread polls
// a thousand times too often and is charged to the server.
func crossBuild(root, dir, name, pkg string, t qemuTarget) (string, error) {
	out := filepath.Join(dir, name+"-"+t.arch)
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
	env := append(append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOOS=linux"), t.env...)
	if strings.HasPrefix(t.arch, "mips") {
		fix := exec.Command("sh", "openwrt/mips-usleep.sh", filepath.Join(dir, "mips-usleep"))
		fix.Dir, fix.Env, fix.Stderr = root, env, os.Stderr
		overlay, err := fix.Output()
		if err != nil {
			return "", fmt.Errorf("mips usleep overlay: %w", err)
		}
		args = append(args, "-overlay", strings.TrimSpace(string(overlay)))
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s for %s: %w", pkg, t.arch, err)
	}
	return out, nil
}

const qemuDisclaimer = `How to read this: under qemu-user the guest's instructions are translated
and run on this host's core, while its system calls run natively in the host
kernel. So the kernel's share of a reply costs what it costs natively, and
the difference between two servers on the same emulated CPU is the
instructions their own code executes per request, which is what a 580 MHz
router core pays for. The floor (the null responder, cross-built the same
way) is the socket work alone. Absolute figures are not router figures: a
real 24Kc is many times slower than this emulation, and its kernel's UDP
path costs more too.`

func qemuWorkloads() []workloadSpec {
	var out []workloadSpec
	for _, w := range compareWorkloads() {
		switch w.name {
		case "udp-announce", "http-keepalive", "http-newconn", "udp-uniform":
			out = append(out, w)
		}
	}
	return out
}

func cmdQemu(args []string) error {
	fs := flag.NewFlagSet("qemu", flag.ExitOnError)
	var sf serverFlags
	sf.register(fs, false)
	var lf loadFlags
	lf.register(fs)
	only := fs.String("targets", "native,mipsle,armv7", "targets, comma-separated")
	rounds := fs.Int("rounds", 3, "rounds per workload")
	refRoot := fs.String("ref-root", "bin/ref-mipsel/root", "Debian's mipsel opentracker unpacked (make bench-ref-mipsel); empty or missing: no reference")
	workloads := fs.String("workloads", "udp-announce,http-keepalive,http-newconn,udp-uniform", "workloads, comma-separated")
	growN := fs.Int("grow-requests", 150000, "announces (and new peers) per uniform-grow run")
	outJSON := fs.String("out", "", "also write all results as JSON to this file")
	fs.Parse(args)
	growRequests = *growN
	sf.torrents, sf.seed = lf.torrents, lf.seed
	if sf.budget == "256M" {
		sf.budget = "16M" // a router-sized budget unless told otherwise
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, cleanup, err := sf.setup()
	if err != nil {
		return err
	}
	defer cleanup()
	out := newCompareOut(&sf, lf, *rounds)
	out.Settings["qemu_mips_cpu"] = qemuCPU
	impls, err := qemuImpls(root, dir, *only, *refRoot, out.Skipped)
	if err != nil {
		return err
	}
	for k, v := range out.Skipped {
		fmt.Fprintf(os.Stderr, "otbench: skipped %s: %s\n", k, v)
	}
	t0 := time.Now()
	names := out.runRounds(&sf, lf, dir, qemuWorkloads(), nameSet(*workloads), impls, *rounds, func(wl workloadSpec, im impl, r Result) string {
		return fmt.Sprintf("%-15s %-16s round %d: %8.0f resp/s, %6.1f µs/reply, errors %d, timeouts %d, p99 %.2f ms, peak RSS %s",
			wl.name, im.name, r.Round, r.RespPerSec, usPerReply(r), r.Errors, r.Timeouts, r.P99Ms, fmtKB(r.PeakRSSKB))
	})
	cols, ratios := qemuColumns(impls)
	out.CPU = cpuRows(out.Runs, names, cols, ratios)
	fmt.Fprintf(os.Stderr, "qemu took %v\n", time.Since(t0).Round(time.Second))
	printQemu(os.Stdout, &out, cols, ratios)
	return writeJSONFile(*outJSON, out)
}

// qemuImpls cross-builds this tracker (and, under emulation, the null
// responder) for each target named in only, with Debian's mipsel reference
// under refRoot on mipsle; what cannot run is noted in skipped.
func qemuImpls(root, dir, only, refRoot string, skipped map[string]string) ([]impl, error) {
	var impls []impl
	for _, t := range qemuTargets() {
		if !strings.Contains(only, t.arch) {
			continue
		}
		if len(t.wrapper) > 0 {
			if _, err := exec.LookPath(t.wrapper[0]); err != nil {
				skipped[t.arch] = t.wrapper[0] + " not installed (apt-get install qemu-user-static)"
				continue
			}
		}
		bin, err := crossBuild(root, dir, "opentracker", "./cmd/opentracker", t)
		if err != nil {
			return nil, err
		}
		impls = append(impls, impl{name: "ours-" + t.arch, bin: bin, kind: "ours", wrapper: t.wrapper})
		if t.wrapper == nil {
			continue // the native floor and reference are compare's
		}
		if t.arch == "mipsle" {
			ref := filepath.Join(refRoot, "usr/bin/opentracker")
			if _, err := os.Stat(ref); refRoot != "" && err == nil {
				abs, _ := filepath.Abs(refRoot)
				impls = append(impls, impl{name: "reference-mipsel", bin: filepath.Join(abs, "usr/bin/opentracker"),
					kind: "reference", wrapper: t.wrapper, ldRoot: abs})
			} else {
				skipped["reference-mipsel"] = fmt.Sprintf("%s missing: run make bench-ref-mipsel (Debian's opentracker:mipsel, unpacked)", ref)
			}
		}
		nb, err := crossBuild(root, dir, "otbench", "./cmd/otbench", t)
		if err != nil {
			return nil, err
		}
		impls = append(impls, impl{name: "null-" + t.arch, bin: nb, kind: "null", wrapper: t.wrapper, peersFrom: "ours-" + t.arch})
	}
	return impls, nil
}

// qemuColumns lists the implementations that ran and the ratios between
// them that mean something: ours against the reference and the floor on the
// same emulated CPU, and the emulation cost against native.
func qemuColumns(impls []impl) ([]cpuColumn, []cpuRatio) {
	have := map[string]bool{}
	var cols []cpuColumn
	for _, im := range impls {
		have[im.name] = true
		cols = append(cols, cpuColumn{im.name, im.name})
	}
	var ratios []cpuRatio
	add := func(label, a, b string) {
		if have[a] && have[b] {
			ratios = append(ratios, cpuRatio{label, a, b})
		}
	}
	add("mips ours/ref", "ours-mipsle", "reference-mipsel")
	add("mips ours/fl", "ours-mipsle", "null-mipsle")
	add("mips ref/fl", "reference-mipsel", "null-mipsle")
	add("arm ours/fl", "ours-armv7", "null-armv7")
	add("mips/native", "ours-mipsle", "ours-native")
	return cols, ratios
}

func printQemu(w io.Writer, out *compareOut, cols []cpuColumn, ratios []cpuRatio) {
	m := out.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, Linux %s, %s, %s\n", m.CPUs, m.Model, m.Kernel, m.Go, m.Date)
	fmt.Fprintf(w, "qemu-user: mipsle on -cpu %s (ours softfloat, the reference Debian's mipsel build), armv7 on cortex-a7; "+
		"our memory_budget %s; server pinned to CPU %s, native generator to CPU %s; %s per run, %s rounds\n\n",
		qemuCPU, out.Settings["budget"], out.Settings["server_cpus"], out.Settings["load_cpus"], out.Settings["duration"], out.Settings["rounds"])
	fmt.Fprintf(w, "%-15s %-17s %13s %13s %9s %8s\n", "workload", "server", "resp/s", "µs/reply", "peak RSS", "errors")
	for _, r := range out.Runs {
		wl, im, _ := strings.Cut(r.Name, "/")
		fmt.Fprintf(w, "%-15s %-17s %13.0f %13.1f %9s %8d   round %d\n", wl, im, r.RespPerSec, usPerReply(r), fmtKB(r.PeakRSSKB), r.Errors+r.Timeouts, r.Round)
	}
	fmt.Fprintf(w, "\nserver CPU per reply, µs (range over rounds; ratios within each round, lower is better for the first):\n")
	printCPUTable(w, out.CPU, cols, ratios)
	fmt.Fprintf(w, "(fl: the floor, the null responder cross-built for the same target; peak RSS of an emulated run includes qemu;\n"+
		" udp-uniform: uniform popularity, every announce a new peer, numwant 200, %d announces per run)\n", growRequests)
	lo, hi := 0.0, 0.0
	for i, r := range out.Runs {
		if i == 0 || r.LoadAvg < lo {
			lo = r.LoadAvg
		}
		hi = max(hi, r.LoadAvg)
	}
	if len(out.Runs) > 0 {
		fmt.Fprintf(w, "1-minute load average at the end of the runs: %.1f to %.1f\n", lo, hi)
	}
	for k, v := range out.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", k, v)
	}
	for _, n := range out.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "\n%s\n", qemuDisclaimer)
}
