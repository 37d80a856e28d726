package openwrt

import (
	"cmp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shellScripts are the scripts that run on a router or build the packages;
// the stand-ins are checked too.
var shellScripts = []string{
	"init.d/opentracker",
	"openwrt/ipk.sh",
	"openwrt/test.sh",
	"openwrt/testdata/standin/rc.common",
	"openwrt/testdata/standin/functions.sh",
	"openwrt/testdata/standin/procd.sh",
	"openwrt/testdata/standin/validate_data",
	"openwrt/testdata/standin/bin/logger",
	"openwrt/testdata/standin/bin/chown",
	"openwrt/testdata/standin/bin/mkdir",
	"openwrt/testdata/standin/bin/mkfifo",
	"openwrt/testdata/standin/bin/opentracker",
}

// shellcheck 0.9 has no busybox dialect: POSIX sh, with "local" (which
// OpenWrt's ash has) allowed by a directive in each file.
func TestShellcheck(t *testing.T) {
	sc := needTool(t, "shellcheck", "shellcheck")
	root := repoRoot(t)
	args := []string{"-s", "sh", "-x"}
	for _, s := range shellScripts {
		args = append(args, filepath.Join(root, s))
	}
	cmd := exec.Command(sc, args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, b)
	}

	// The maintainer scripts ipk.sh writes; functions.sh is the router's
	// (SC1091: not followed).
	out := pack(t, fakeBins(t), packEnv, "x86_64")
	p := readIPK(t, filepath.Join(out, "opentracker_1.2.3-r4_x86_64.ipk"))
	args = []string{"-s", "sh", "-e", "SC1091"}
	for _, name := range []string{"postinst", "prerm"} {
		f := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(f, p.control["./"+name].body, 0o755); err != nil {
			t.Fatal(err)
		}
		args = append(args, f)
	}
	if b, err := exec.Command(sc, args...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck of the maintainer scripts: %v\n%s", err, b)
	}
}

// The init script parses in busybox ash, the shell of OpenWrt.
func TestAshSyntax(t *testing.T) {
	needTool(t, "busybox", "busybox")
	root := repoRoot(t)
	for _, s := range []string{"init.d/opentracker", "openwrt/test.sh", "openwrt/ipk.sh"} {
		if b, err := exec.Command("busybox", "ash", "-n", filepath.Join(root, s)).CombinedOutput(); err != nil {
			t.Errorf("busybox ash -n %s: %v\n%s", s, err, b)
		}
	}
}

// The feed Makefile follows golang-package.mk's conventions and points at
// files that exist in the source tree it builds from.
func TestFeedMakefile(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "openwrt", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	mk := string(b)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := regexp.MustCompile(`(?m)^module (\S+)`).FindStringSubmatch(string(gomod))
	if module == nil {
		t.Fatal("no module line in go.mod")
	}
	for _, want := range []string{
		"include $(TOPDIR)/rules.mk\n",
		"PKG_NAME:=opentracker\n",
		"PKG_BUILD_DEPENDS:=golang/host\n",
		"PKG_BUILD_PARALLEL:=1\n",
		"PKG_BUILD_FLAGS:=no-mips16\n",
		"GO_PKG:=" + module[1] + "\n",
		"GO_PKG_BUILD_PKG:=$(GO_PKG)/cmd/opentracker\n",
		"GO_PKG_INSTALL_BIN_PATH:=/usr/sbin\n",
		"include $(INCLUDE_DIR)/package.mk\n",
		"include ../../lang/golang/golang-package.mk\n",
		"DEPENDS:=$(GO_ARCH_DEPENDS)\n",
		"PKG_LICENSE:=MIT\n",
		"PKG_LICENSE_FILES:=LICENSE\n",
		"CONFLICTS:=opentracker6\n",
		"USERID:=opentracker:opentracker\n",
		"define Package/opentracker/conffiles\n/etc/config/opentracker\nendef\n",
		"$(call GoPackage/Package/Install/Bin,$(1))",
		"$(eval $(call GoBinPackage,opentracker))\n",
		"$(eval $(call BuildPackage,opentracker))\n",
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("openwrt/Makefile lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(mk), "upx") {
		t.Error("openwrt/Makefile mentions upx; the feed does not use it")
	}
	// GO_PKG_LDFLAGS_X must name a variable that exists ("main." is the
	// daemon's package, cmd/opentracker).
	if m := regexp.MustCompile(`GO_PKG_LDFLAGS_X:=(?:\$\(GO_PKG\)/(\S+)|main)\.(\w+)=`).FindStringSubmatch(mk); m == nil {
		t.Error("no GO_PKG_LDFLAGS_X")
	} else {
		dir := cmp.Or(m[1], "cmd/opentracker")
		if src, err := exec.Command("grep", "-rq", "^var "+m[2]+" ", filepath.Join(root, dir)).CombinedOutput(); err != nil {
			t.Errorf("GO_PKG_LDFLAGS_X names %s.%s, not found (%v) %s", dir, m[2], err, src)
		}
	}
	// Files the install section takes from the source tree.
	for _, m := range regexp.MustCompile(`\$\(PKG_BUILD_DIR\)/(\S+)`).FindAllStringSubmatch(mk, -1) {
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			t.Errorf("Makefile installs %s: %v", m[1], err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "LICENSE")); err != nil || !strings.HasPrefix(string(b), "MIT License\n\nCopyright (c) ") || !strings.Contains(string(b), "opentracker-go authors") {
		t.Errorf("PKG_LICENSE_FILES: LICENSE is not the MIT licence of the opentracker-go authors (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "opentracker")); err != nil {
		t.Errorf("GO_PKG_BUILD_PKG: %v", err)
	}
	// go.mod must build with OpenWrt 24.10's Go 1.23 and GOTOOLCHAIN=local.
	if m := regexp.MustCompile(`(?m)^go 1\.(\d+)`).FindStringSubmatch(string(gomod)); m == nil || len(m[1]) > 2 || m[1] > "23" {
		t.Errorf("go.mod needs a go directive of at most 1.23 for OpenWrt 24.10, has %v", m)
	}
}

// The feed CI hook checks the version and the daemon's check mode.
func TestFeedTestHook(t *testing.T) {
	bin := nativeBinary(t)
	out, err := exec.Command(bin, "-v").CombinedOutput()
	ver := strings.TrimPrefix(strings.TrimSpace(string(out)), "opentracker-go ")
	if err != nil || ver == "" {
		t.Fatalf("opentracker -v: %q %v", out, err)
	}
	hook := func(version string) ([]byte, error) {
		cmd := exec.Command("sh", filepath.Join(repoRoot(t), "openwrt", "test.sh"), "opentracker", version)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		return cmd.CombinedOutput()
	}
	if b, err := hook(ver + "-r1"); err != nil {
		t.Errorf("test.sh with version %s-r1: %v\n%s", ver, err, b)
	}
	if b, err := hook("9.9.9-r1"); err == nil || !strings.Contains(string(b), "the package is 9.9.9-r1") {
		t.Errorf("test.sh accepted a version the binary does not report: %v\n%s", err, b)
	}
}
