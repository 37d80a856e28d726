package openwrt

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeBins writes a placeholder binary per arch, so that the package layout
// can be checked without cross-compiling.
func fakeBins(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, a := range defaultArches {
		if err := os.MkdirAll(filepath.Join(dir, a), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, a, "opentracker"), []byte("placeholder for "+a+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const epoch = 1700000000

var packEnv = []string{"VERSION=1.2.3", "RELEASE=4", "SOURCE_DATE_EPOCH=" + strconv.Itoa(epoch)}

// The packages have OpenWrt's layout: outer gzipped tar, control and data
// archives, fields, conffiles, maintainer scripts, modes and owners.
func TestIPKLayout(t *testing.T) {
	root := repoRoot(t)
	bins := fakeBins(t)
	out := pack(t, bins, packEnv, defaultArches...)

	files, _ := filepath.Glob(filepath.Join(out, "*"))
	var want []string
	for _, a := range defaultArches {
		want = append(want, filepath.Join(out, "opentracker_1.2.3-r4_"+a+".ipk"))
	}
	sort.Strings(files)
	sort.Strings(want)
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("packed %q, want %q", files, want)
	}

	initScript, _ := os.ReadFile(filepath.Join(root, "init.d", "opentracker"))
	uciFile, _ := os.ReadFile(filepath.Join(root, "openwrt", "files", "opentracker.config"))
	for _, arch := range defaultArches {
		t.Run(arch, func(t *testing.T) {
			p := readIPK(t, filepath.Join(out, "opentracker_1.2.3-r4_"+arch+".ipk"))

			var names []string
			for _, e := range p.outer {
				names = append(names, e.hdr.Name)
				checkOwner(t, "outer "+e.hdr.Name, e.hdr)
			}
			if want := []string{"./debian-binary", "./data.tar.gz", "./control.tar.gz"}; !reflect.DeepEqual(names, want) {
				t.Errorf("outer members %q, want %q", names, want)
			}
			if got := string(p.outer[0].body); got != "2.0\n" {
				t.Errorf("debian-binary %q", got)
			}

			c, ok := p.control["./control"]
			if !ok {
				t.Fatal("no ./control")
			}
			f, order := controlFields(t, string(c.body))
			for k, v := range map[string]string{
				"Package": "opentracker", "Version": "1.2.3-r4", "Architecture": arch,
				"Depends": "libc", "Section": "net",
				// The feed's C package provides opentracker6; its own
				// name is this package's.
				"Conflicts":    "opentracker6",
				"Require-User": "opentracker:opentracker",
				"License":      "MIT", "LicenseFiles": "LICENSE",
				"Installed-Size": strconv.Itoa(len(p.dataRaw)),
			} {
				if f[k] != v {
					t.Errorf("control %s: %q, want %q", k, f[k], v)
				}
			}
			if len(order) < 2 || order[0] != "Package" || order[1] != "Version" {
				t.Errorf("control field order %q", order)
			}
			if !strings.Contains(f["Description"], "BitTorrent tracker") || !strings.Contains(f["Description"], "\n ") {
				t.Errorf("Description %q", f["Description"])
			}

			conf := p.control["./conffiles"]
			if string(conf.body) != "/etc/config/opentracker\n" {
				t.Errorf("conffiles %q", conf.body)
			}
			for _, l := range strings.Fields(string(conf.body)) {
				if e, ok := p.data["."+l]; !ok || e.hdr.Typeflag != tar.TypeReg {
					t.Errorf("conffile %s is not a regular file in data.tar.gz", l)
				}
			}
			for name, fn := range map[string]string{"./postinst": "default_postinst", "./prerm": "default_prerm"} {
				e, ok := p.control[name]
				if !ok {
					t.Errorf("no %s", name)
					continue
				}
				if e.hdr.Mode&0o777 != 0o755 {
					t.Errorf("%s mode %o", name, e.hdr.Mode)
				}
				body := string(e.body)
				for _, want := range []string{"#!/bin/sh\n", `[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0`, `. "${IPKG_INSTROOT}/lib/functions.sh"`, fn + ` "$0" "$@"`} {
					if !strings.Contains(body, want) {
						t.Errorf("%s lacks %q:\n%s", name, want, body)
					}
				}
			}
			for name, e := range p.control {
				checkOwner(t, "control "+name, e.hdr)
			}

			wantData := map[string]struct {
				mode int64
				body []byte
			}{
				"./":                               {0o755, nil},
				"./etc/":                           {0o755, nil},
				"./etc/config/":                    {0o755, nil},
				"./etc/config/opentracker":         {0o600, uciFile},
				"./etc/init.d/":                    {0o755, nil},
				"./etc/init.d/opentracker":         {0o755, initScript},
				"./lib/":                           {0o755, nil},
				"./lib/upgrade/":                   {0o755, nil},
				"./lib/upgrade/keep.d/":            {0o755, nil},
				"./lib/upgrade/keep.d/opentracker": {0o644, []byte("/etc/opentracker/\n")},
				"./usr/":                           {0o755, nil},
				"./usr/sbin/":                      {0o755, nil},
				"./usr/sbin/opentracker":           {0o755, []byte("placeholder for " + arch + "\n")},
			}
			if len(p.data) != len(wantData) {
				var got []string
				for n := range p.data {
					got = append(got, n)
				}
				sort.Strings(got)
				t.Errorf("data.tar.gz holds %q", got)
			}
			for name, w := range wantData {
				e, ok := p.data[name]
				if !ok {
					t.Errorf("data.tar.gz lacks %s", name)
					continue
				}
				checkOwner(t, "data "+name, e.hdr)
				if e.hdr.Mode&0o7777 != w.mode {
					t.Errorf("%s mode %o, want %o", name, e.hdr.Mode&0o7777, w.mode)
				}
				if w.body != nil && !bytes.Equal(e.body, w.body) {
					t.Errorf("%s differs from the source file", name)
				}
			}
		})
	}

	// Same input, same bytes.
	again := pack(t, bins, packEnv, defaultArches[0])
	a, _ := os.ReadFile(filepath.Join(out, "opentracker_1.2.3-r4_"+defaultArches[0]+".ipk"))
	b, _ := os.ReadFile(filepath.Join(again, "opentracker_1.2.3-r4_"+defaultArches[0]+".ipk"))
	if !bytes.Equal(a, b) {
		t.Error("packing twice gave different bytes")
	}
}

func checkOwner(t *testing.T, what string, h *tar.Header) {
	t.Helper()
	if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
		t.Errorf("%s owned by %d:%d (%q:%q), want numeric 0:0", what, h.Uid, h.Gid, h.Uname, h.Gname)
	}
	if !h.ModTime.Equal(time.Unix(epoch, 0)) {
		t.Errorf("%s mtime %v, want %v", what, h.ModTime, time.Unix(epoch, 0))
	}
}

func TestIPKUnknownArch(t *testing.T) {
	cmd := exec.Command("sh", filepath.Join(repoRoot(t), "openwrt", "ipk.sh"), "pack", fakeBins(t), t.TempDir(), "mipsel")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unknown OpenWrt arch mipsel") {
		t.Errorf("a generic arch name was accepted (%v): %s", err, out)
	}
}

// postinst and prerm hand over to default_postinst / default_prerm from
// $IPKG_INSTROOT/lib/functions.sh (here the stand-in, which records the
// call), and do nothing with IPKG_NO_SCRIPT=1 or without functions.sh.
func TestIPKMaintainerScripts(t *testing.T) {
	needTool(t, "busybox", "busybox")
	out := pack(t, fakeBins(t), packEnv, "mipsel_24kc")
	p := readIPK(t, filepath.Join(out, "opentracker_1.2.3-r4_mipsel_24kc.ipk"))
	standin := filepath.Join(repoRoot(t), "openwrt", "testdata", "standin", "functions.sh")
	lib, err := os.ReadFile(standin)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ script, arg, fn string }{{"postinst", "configure", "default_postinst"}, {"prerm", "remove", "default_prerm"}} {
		dir := t.TempDir()
		script := filepath.Join(dir, c.script)
		if err := os.WriteFile(script, p.control["./"+c.script].body, 0o755); err != nil {
			t.Fatal(err)
		}
		withLib := filepath.Join(dir, "root")
		os.MkdirAll(filepath.Join(withLib, "lib"), 0o755)
		if err := os.WriteFile(filepath.Join(withLib, "lib", "functions.sh"), lib, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, run := range []struct {
			name, root string
			env        []string
			want       string
		}{
			{"with functions.sh", withLib, nil, c.fn + "|" + script + "|" + c.arg + "\n"},
			{"IPKG_NO_SCRIPT=1", withLib, []string{"IPKG_NO_SCRIPT=1"}, ""},
			{"without functions.sh", filepath.Join(dir, "empty"), nil, ""},
		} {
			log := filepath.Join(dir, "log")
			os.Remove(log)
			cmd := exec.Command("busybox", "ash", script, c.arg)
			cmd.Env = append([]string{"IPKG_INSTROOT=" + run.root, "STANDIN_LOG=" + log, "PATH=/usr/bin:/bin"}, run.env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", c.script, run.name, err, b)
			}
			got, _ := os.ReadFile(log)
			if string(got) != run.want {
				t.Errorf("%s %s recorded %q, want %q", c.script, run.name, got, run.want)
			}
		}
	}
}

// The real default_postinst makes the users and groups of the control
// file's Require-User field (add_group_and_user): the functions.sh stand-in
// models it, and the package's postinst, run as opkg runs it, creates the
// "opentracker" user and group once, as testdata/passwd (the init script
// tests' passwd) has them.
func TestIPKCreatesUser(t *testing.T) {
	needTool(t, "busybox", "busybox")
	out := pack(t, fakeBins(t), packEnv, "mipsel_24kc")
	p := readIPK(t, filepath.Join(out, "opentracker_1.2.3-r4_mipsel_24kc.ipk"))
	root := t.TempDir()
	info := filepath.Join(root, "usr", "lib", "opkg", "info")
	for _, d := range []string{info, filepath.Join(root, "lib"), filepath.Join(root, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lib, err := os.ReadFile(filepath.Join(repoRoot(t), "openwrt", "testdata", "standin", "functions.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// OpenWrt's base-files passwd and group, abridged.
	files := map[string]string{
		"lib/functions.sh":                       string(lib),
		"etc/passwd":                             "root:x:0:0:root:/root:/bin/ash\ndaemon:*:1:1:daemon:/var:/bin/false\nnobody:*:65534:65534:nobody:/var:/bin/false\n",
		"etc/group":                              "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n",
		"etc/shadow":                             "root:::0:99999:7:::\n",
		"usr/lib/opkg/info/opentracker.control":  string(p.control["./control"].body),
		"usr/lib/opkg/info/opentracker.postinst": string(p.control["./postinst"].body),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ { // install, then an upgrade
		cmd := exec.Command("busybox", "ash", filepath.Join(info, "opentracker.postinst"), "configure")
		cmd.Env = []string{"IPKG_INSTROOT=" + root, "STANDIN_LOG=" + filepath.Join(root, "log"), "PATH=" + os.Getenv("PATH")}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("postinst: %v\n%s", err, b)
		}
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	testPasswd, err := os.ReadFile(filepath.Join(repoRoot(t), "openwrt", "testdata", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	wantUser := "opentracker:x:32768:32768:opentracker:/var/run/opentracker:/bin/false\n"
	if got := read("etc/passwd"); strings.Count(got, "\nopentracker:") != 1 || !strings.HasSuffix(got, wantUser) {
		t.Errorf("passwd:\n%s\nwant one line %q", got, wantUser)
	}
	if !strings.Contains(string(testPasswd), wantUser) {
		t.Errorf("testdata/passwd lacks the user the package makes: %q", wantUser)
	}
	if got := read("etc/group"); !strings.HasSuffix(got, "\nopentracker:x:32768:opentracker\n") {
		t.Errorf("group:\n%s", got)
	}
	if got := read("etc/shadow"); strings.Count(got, "\nopentracker:") != 1 {
		t.Errorf("shadow:\n%s", got)
	}
}
