package luci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// untar reads a gzipped tar into name -> (mode, content).
func untar(t *testing.T, data []byte) map[string]*tar.Header {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		h.PAXRecords = map[string]string{"body": string(body)}
		out[h.Name] = h
	}
}

// TestIPK packs the app as "make ipk" does and reads it back: the name and
// architecture opkg expects, the dependencies, and exactly the files of
// htdocs/ (under /www) and root/ (under /), byte for byte, the rpcd plugin
// executable.
func TestIPK(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("tar not installed")
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "ipk.sh", out)
	cmd.Env = append(os.Environ(), "VERSION=1.2.3", "RELEASE=4")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ipk.sh: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(filepath.Join(out, "luci-app-opentracker_1.2.3-r4_all.ipk"))
	if err != nil {
		t.Fatal(err)
	}
	outer := untar(t, raw)
	if outer["./debian-binary"].PAXRecords["body"] != "2.0\n" {
		t.Fatalf("debian-binary: %q", outer["./debian-binary"].PAXRecords["body"])
	}
	control := untar(t, []byte(outer["./control.tar.gz"].PAXRecords["body"]))
	ctl := control["./control"].PAXRecords["body"]
	for _, want := range []string{"Package: luci-app-opentracker\n", "Version: 1.2.3-r4\n", "Architecture: all\n",
		"Depends: libc, luci-base, opentracker, uclient-fetch\n"} {
		if !strings.Contains(ctl, want) {
			t.Errorf("control lacks %q:\n%s", want, ctl)
		}
	}
	if pi := control["./postinst"]; pi == nil || pi.Mode&0o111 == 0 || !strings.Contains(pi.PAXRecords["body"], "killall -HUP rpcd") {
		t.Errorf("postinst missing, not executable or not reloading rpcd: %+v", pi)
	}
	data := untar(t, []byte(outer["./data.tar.gz"].PAXRecords["body"]))
	want := map[string]string{}
	for src, dst := range map[string]string{"htdocs": "./www/", "root": "./"} {
		filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(src, p)
				want[dst+rel] = p
			}
			return err
		})
	}
	for name, src := range want {
		h := data[name]
		if h == nil {
			t.Errorf("%s (from %s) is not in the package", name, src)
			continue
		}
		b, _ := os.ReadFile(src)
		if h.PAXRecords["body"] != string(b) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s differs from %s or is not root's", name, src)
		}
		mode := int64(0o644)
		if strings.HasPrefix(name, "./usr/libexec/rpcd/") {
			mode = 0o755
		}
		if h.Mode != mode {
			t.Errorf("%s: mode %o, want %o", name, h.Mode, mode)
		}
	}
	for name, h := range data {
		if h.Typeflag == tar.TypeReg && want[name] == "" {
			t.Errorf("%s is in the package but not in htdocs/ or root/", name)
		}
	}
}
