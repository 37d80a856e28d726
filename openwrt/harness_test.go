package openwrt

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// defaultArches are the OpenWrt architectures "make ipk" packs.
var defaultArches = []string{
	"mipsel_24kc", "mips_24kc", "arm_cortex-a7_neon-vfpv4", "aarch64_cortex-a53", "x86_64",
}

// scratch is a directory shared by the tests of one run (builds are slow).
var scratch string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openwrt-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// needTool returns the path of an external program or skips the test.
func needTool(t testing.TB, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (apt-get install %s): %s", name, why, err)
	}
	return p
}

func goEnv() []string {
	return append(os.Environ(), "GOTOOLCHAIN=local")
}

// once runs a slow build at most once per test binary.
type once struct {
	sync.Once
	out string
	err error
}

var crossOnce once

// crossBuild builds the daemon for defaultArches with "ipk.sh cross" and
// returns the directory holding <arch>/opentracker.
func crossBuild(t testing.TB) string {
	t.Helper()
	bindir := filepath.Join(scratch, "cross")
	crossOnce.Do(func() {
		args := append([]string{filepath.Join(repoRoot(t), "openwrt", "ipk.sh"), "cross", bindir}, defaultArches...)
		cmd := exec.Command("sh", args...)
		cmd.Env = goEnv()
		out, err := cmd.CombinedOutput()
		crossOnce.out, crossOnce.err = string(out), err
	})
	if crossOnce.err != nil {
		t.Fatalf("cross build of ./cmd/opentracker failed (%v):\n%s", crossOnce.err, crossOnce.out)
	}
	return bindir
}

var nativeOnce once

// nativeBinary builds the daemon for the host.
func nativeBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(scratch, "native", "opentracker")
	nativeOnce.Do(func() {
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/opentracker")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(goEnv(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		nativeOnce.out, nativeOnce.err = string(out), err
	})
	if nativeOnce.err != nil {
		t.Fatalf("build of ./cmd/opentracker failed (%v):\n%s", nativeOnce.err, nativeOnce.out)
	}
	return bin
}

// pack runs "ipk.sh pack" on bindir for arches into a new directory.
func pack(t testing.TB, bindir string, env []string, arches ...string) string {
	t.Helper()
	out := t.TempDir()
	args := append([]string{filepath.Join(repoRoot(t), "openwrt", "ipk.sh"), "pack", bindir, out}, arches...)
	cmd := exec.Command("sh", args...)
	cmd.Env = append(goEnv(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ipk.sh pack: %v\n%s", err, b)
	}
	return out
}

// entry is one member of a tar archive.
type entry struct {
	hdr  *tar.Header
	body []byte
}

// readTarGz reads a gzipped tar into its members, in archive order.
func readTarGz(t testing.TB, data []byte) []entry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	var out []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h, b})
	}
	return out
}

func byName(es []entry) map[string]entry {
	m := make(map[string]entry, len(es))
	for _, e := range es {
		m[e.hdr.Name] = e
	}
	return m
}

// ipk is a package read back: the outer members, control.tar.gz and
// data.tar.gz.
type ipk struct {
	outer   []entry
	control map[string]entry
	data    map[string]entry
	dataRaw []byte
}

func readIPK(t testing.TB, path string) ipk {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p ipk
	p.outer = readTarGz(t, raw)
	outer := byName(p.outer)
	c, ok := outer["./control.tar.gz"]
	if !ok {
		t.Fatalf("%s: no ./control.tar.gz", path)
	}
	d, ok := outer["./data.tar.gz"]
	if !ok {
		t.Fatalf("%s: no ./data.tar.gz", path)
	}
	p.control = byName(readTarGz(t, c.body))
	p.data = byName(readTarGz(t, d.body))
	zr, err := gzip.NewReader(bytes.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	if p.dataRaw, err = io.ReadAll(zr); err != nil {
		t.Fatal(err)
	}
	return p
}

// controlFields parses an opkg control file (continuation lines start with
// a blank).
func controlFields(t testing.TB, text string) (map[string]string, []string) {
	t.Helper()
	fields := map[string]string{}
	var order []string
	last := ""
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, " ") && last != "" {
			fields[last] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("control line without a colon: %q", line)
		}
		last = k
		order = append(order, k)
		fields[k] = strings.TrimPrefix(v, " ")
	}
	return fields, order
}

// freePort returns a port that was free for TCP and UDP on 127.0.0.1 a
// moment ago. It is drawn below the kernel's ephemeral range (32768 and up
// by default), because between this check and the daemon's bind another
// test's client socket could be given an ephemeral port; below the range
// only an explicit bind can take it.
func freePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}
