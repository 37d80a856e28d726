package openwrt

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// usleepBuild builds testdata/spin for goarch (mips or mipsle, softfloat),
// with the overlay when it is not empty, and returns the binary.
func usleepBuild(t *testing.T, goarch, overlay string) string {
	t.Helper()
	name := "spin-" + goarch
	args := []string{"build", "-trimpath", "-o"}
	if overlay != "" {
		name += "-fixed"
	}
	bin := filepath.Join(t.TempDir(), name)
	args = append(args, bin)
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.Command("go", append(args, "./openwrt/testdata/spin")...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(goEnv(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOMIPS=softfloat")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return bin
}

// usleepOverlay runs mips-usleep.sh as ipk.sh does and returns the
// overlay's path.
func usleepOverlay(t *testing.T, env []string) (string, string) {
	t.Helper()
	cmd := exec.Command("sh", filepath.Join(repoRoot(t), "openwrt", "mips-usleep.sh"), t.TempDir())
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mips-usleep.sh: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), stderr.String()
}

// sleeps runs bin under qemu-user and returns its voluntary context
// switches (all threads): mostly the runtime's monitor thread's sleeps.
func sleeps(t *testing.T, qemu, bin string) int64 {
	t.Helper()
	cmd := exec.Command(qemu, "-cpu", "24Kc", bin)
	// One P, as the daemon has on a single-core router: a yield then
	// wakes no other thread.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%.2000s", qemu, bin, err, out)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Nvcsw
}

// usleepCode is the machine code of runtime.usleep in bin (not stripped).
func usleepCode(t *testing.T, bin string) []byte {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	data, err := text.Data()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == "runtime.usleep" && s.Size > 0 {
			off := s.Value - text.Addr
			return data[off : off+s.Size]
		}
	}
	t.Fatalf("%s has no runtime.usleep", bin)
	return nil
}

// TestMipsUsleepCorrected: Go's runtime.usleep on 32-bit MIPS sleeps
// microseconds as nanoseconds, so the runtime's monitor thread polls a
// thousand times too often while the process is busy (mips-usleep.sh).
// Built with the overlay, a busy program under qemu sleeps (a voluntary
// context switch) about a hundred times in 300 ms, as on other
// architectures; built without, thousands of times. The daemons that "ipk.sh cross" builds for both MIPS
// byte orders carry the corrected function, not the original.
func TestMipsUsleepCorrected(t *testing.T) {
	if testing.Short() {
		t.Skip("cross builds")
	}
	qemu := needTool(t, "qemu-mipsel-static", "apt-get install qemu-user-static")
	overlay, warn := usleepOverlay(t, goEnv())
	if warn != "" {
		t.Fatalf("mips-usleep.sh did not patch this Go's runtime: %s", warn)
	}
	fixed := usleepBuild(t, "mipsle", overlay)
	plain := usleepBuild(t, "mipsle", "")
	nFixed, nPlain := sleeps(t, qemu, fixed), sleeps(t, qemu, plain)
	t.Logf("voluntary context switches in 300 ms busy: %d corrected, %d as Go ships it", nFixed, nPlain)
	if nFixed > 1000 || nPlain < 4*nFixed {
		t.Fatalf("voluntary context switches in 300 ms busy: %d corrected (want at most 1000), %d uncorrected (want 4x more)", nFixed, nPlain)
	}

	bindir := crossBuild(t)
	for arch, goarch := range map[string]string{"mipsel_24kc": "mipsle", "mips_24kc": "mips"} {
		daemon, err := os.ReadFile(filepath.Join(bindir, arch, "opentracker"))
		if err != nil {
			t.Fatal(err)
		}
		good := usleepCode(t, usleepBuild(t, goarch, overlay))
		bad := usleepCode(t, usleepBuild(t, goarch, ""))
		if bytes.Equal(good, bad) {
			t.Fatalf("%s: the overlay did not change runtime.usleep", goarch)
		}
		if !bytes.Contains(daemon, good) || bytes.Contains(daemon, bad) {
			t.Errorf("%s daemon: corrected usleep %v, original %v; want only the corrected one",
				arch, bytes.Contains(daemon, good), bytes.Contains(daemon, bad))
		}
	}
}

// TestMipsUsleepUnknownRuntime: when the toolchain's usleep is not the
// known one (a Go that fixed it), the script writes an empty overlay, says
// so, and succeeds, so that the build goes on unpatched.
func TestMipsUsleepUnknownRuntime(t *testing.T) {
	root := t.TempDir()
	rt := filepath.Join(root, "src", "runtime")
	if err := os.MkdirAll(rt, 0o755); err != nil {
		t.Fatal(err)
	}
	fixedUpstream := "TEXT runtime·usleep(SB),NOSPLIT,$28-4\n\tMOVW\tusec+0(FP), R3\n\tMOVW\tHI, R5\n\tRET\n"
	if err := os.WriteFile(filepath.Join(rt, "sys_linux_mipsx.s"), []byte(fixedUpstream), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeGo := filepath.Join(root, "go")
	if err := os.WriteFile(fakeGo, []byte("#!/bin/sh\necho "+root+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	overlay, warn := usleepOverlay(t, append(os.Environ(), "GO="+fakeGo))
	b, err := os.ReadFile(overlay)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != `{"Replace":{}}` || !strings.Contains(warn, "not the known one") {
		t.Fatalf("overlay %s, warning %q; want an empty overlay and a warning", b, warn)
	}
}
