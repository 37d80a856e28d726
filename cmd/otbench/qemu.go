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

// qemuTarget is one cross build run under qemu-user.
type qemuTarget struct {
	name    string
	env     []string
	wrapper []string // empty: native
}

func qemuTargets() []qemuTarget {
	return []qemuTarget{
		{"native", nil, nil},
		{"mipsle-24Kc", []string{"GOARCH=mipsle", "GOMIPS=softfloat"}, []string{"qemu-mipsel-static", "-cpu", "24Kc"}},
		{"armv7-cortex-a7", []string{"GOARCH=arm", "GOARM=7"}, []string{"qemu-arm-static", "-cpu", "cortex-a7"}},
	}
}

// crossBuild builds this tracker for a target into dir.
func crossBuild(root, dir string, t qemuTarget) (string, error) {
	out := filepath.Join(dir, "opentracker-"+t.name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/opentracker")
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOOS=linux"), t.env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", t.name, err)
	}
	return out, nil
}

const qemuDisclaimer = `Emulation speed is not router speed. qemu-user translates guest
instructions on this host's x86 core, so these figures say how this build
behaves (it starts, serves, fits the budget) and roughly how much more CPU
per request the guest code path costs; they do not predict a router. A real
MIPS 24Kc or MT7621 core at 575-880 MHz is itself many times slower than the
emulation here, and its kernel's UDP path costs more too. Read the ratio emulated/native as a lower
bound on the slowdown of the code, not as an estimate of router throughput.`

func cmdQemu(args []string) error {
	fs := flag.NewFlagSet("qemu", flag.ExitOnError)
	var sf serverFlags
	sf.register(fs, false)
	var lf loadFlags
	lf.register(fs)
	only := fs.String("targets", "native,mipsle-24Kc,armv7-cortex-a7", "targets, comma-separated")
	fs.Parse(args)
	sf.torrents, sf.seed = lf.torrents, lf.seed
	if sf.budget == "256M" {
		sf.budget = "16M" // a router-sized budget unless told otherwise
	}
	if sf.loadCPUs != "" {
		if err := pinSelf(sf.loadCPUs); err != nil {
			return err
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, cleanup, err := sf.workdir()
	if err != nil {
		return err
	}
	defer cleanup()
	type row struct {
		target, proto string
		r             Result
	}
	var rows []row
	native := map[string]float64{}
	for _, t := range qemuTargets() {
		if !strings.Contains(*only, t.name) {
			continue
		}
		if len(t.wrapper) > 0 {
			if _, err := exec.LookPath(t.wrapper[0]); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %s not installed (apt-get install qemu-user-static); skipped\n", t.name, t.wrapper[0])
				continue
			}
		}
		bin, err := crossBuild(root, dir, t)
		if err != nil {
			return err
		}
		for _, udp := range []bool{true, false} {
			s, err := startOursWith(t.wrapper, bin, filepath.Join(dir, t.name), sf.cpus, sf.budget, false, "")
			if err != nil {
				return err
			}
			if err := s.waitReady(lf.seed, udp, 60*time.Second); err != nil {
				s.stop()
				fmt.Fprintf(os.Stderr, "%s: %v\n", t.name, err)
				continue
			}
			f := lf
			f.udp, f.http = "", ""
			proto := "udp"
			if udp {
				f.udp = s.udp.String()
			} else {
				f.http, f.keepAlive, proto = s.tcp.String(), true, "http"
			}
			f.pid, f.name = s.pid, t.name
			res, err := runLoad(&f)
			s.stop()
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s %s: %v\n", t.name, proto, err)
				continue
			}
			if t.wrapper == nil {
				native[proto] = res.RespPerSec
			}
			fmt.Fprintf(os.Stderr, "%-16s %-5s %8.0f resp/s, errors %d (refused %d), timeouts %d, p99 %.2f ms, peak RSS %s\n",
				t.name, proto, res.RespPerSec, res.Errors, res.Refused, res.Timeouts, res.P99Ms, fmtKB(res.PeakRSSKB))
			rows = append(rows, row{t.name, proto, res})
		}
	}
	w := io.Writer(os.Stdout)
	fmt.Fprintf(w, "\nqemu-user router estimate: memory_budget %s, server pinned to CPU %s, generator (native) to CPU %s, %s per run\n\n",
		sf.budget, sf.cpus, sf.loadCPUs, lf.duration)
	fmt.Fprintf(w, "%-16s %-5s %11s %10s %9s %9s %10s\n", "target", "proto", "resp/s", "vs native", "p99 ms", "peak RSS", "errors")
	for _, r := range rows {
		vs := "-"
		if n := native[r.proto]; n > 0 {
			vs = fmt.Sprintf("%.3f", r.r.RespPerSec/n)
		}
		fmt.Fprintf(w, "%-16s %-5s %11.0f %10s %9.2f %9s %10d\n", r.target, r.proto, r.r.RespPerSec, vs, r.r.P99Ms, fmtKB(r.r.PeakRSSKB), r.r.Errors+r.r.Timeouts)
	}
	fmt.Fprintf(w, "(peak RSS of an emulated run includes qemu itself)\n\n%s\n", qemuDisclaimer)
	return nil
}
