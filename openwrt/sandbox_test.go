package openwrt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sandbox runs init.d/opentracker under busybox ash the way /etc/rc.common
// does on a router, with the stand-ins in testdata/standin in place of
// OpenWrt's functions.sh, procd.sh, validate_data and logger. Every procd_*
// call, logger message, chown and mkdir outside the sandbox is recorded in
// calls.log, one line each, arguments separated by "|".
type sandbox struct {
	t    *testing.T
	dir  string
	prog string // what PROG points to
	conf string // where CONF points to
	env  []string
	seen int // lines of calls.log already returned by calls()
	exit int // exit status of the last run
}

// applets are the busybox commands the init script may use from PATH; PATH
// holds nothing else, so a command OpenWrt's busybox lacks shows up.
var applets = []string{"sh", "ash", "sed", "cat", "mv", "rm", "cp", "grep", "basename", "dirname", "busybox", "md5sum"}

// newSandbox prepares a sandbox; prog is the daemon the script runs (""
// means the check-mode stand-in).
func newSandbox(t *testing.T, prog string) *sandbox {
	t.Helper()
	bb := needTool(t, "busybox", "busybox")
	root := repoRoot(t)
	dir := t.TempDir()
	standin := filepath.Join(root, "openwrt", "testdata", "standin")
	if prog == "" {
		prog = filepath.Join(standin, "bin", "opentracker")
	}
	s := &sandbox{t: t, dir: dir, prog: prog, conf: filepath.Join(dir, "var", "etc", "opentracker.toml")}
	for _, d := range []string{"etc/config", "init.d", "bb"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range applets {
		if err := os.Symlink(bb, filepath.Join(dir, "bb", a)); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile(filepath.Join(root, "init.d", "opentracker"))
	if err != nil {
		t.Fatal(err)
	}
	text := replaceLine(t, string(script), "PROG=/usr/sbin/opentracker", "PROG="+s.prog)
	text = replaceLine(t, text, "CONF=/var/etc/opentracker.toml", "CONF="+s.conf)
	text = replaceLine(t, text, "PASSWD=/etc/passwd", "PASSWD="+filepath.Join(root, "openwrt", "testdata", "passwd"))
	if err := os.WriteFile(filepath.Join(dir, "init.d", "opentracker"), []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	s.env = []string{
		"PATH=" + filepath.Join(standin, "bin") + ":" + filepath.Join(dir, "bb"),
		"STANDIN_DIR=" + standin,
		"UCI_CONFIG_DIR=" + filepath.Join(dir, "etc", "config"),
		"STANDIN_LOG=" + filepath.Join(dir, "calls.log"),
		"STANDIN_PASSWD=" + filepath.Join(root, "openwrt", "testdata", "passwd"),
		"SANDBOX=" + dir,
	}
	return s
}

// replaceLine replaces the one line equal to old.
func replaceLine(t *testing.T, text, old, new string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	n := 0
	for i, l := range lines {
		if l == old {
			lines[i] = new
			n++
		}
	}
	if n != 1 {
		t.Fatalf("init script: %d lines %q, want 1", n, old)
	}
	return strings.Join(lines, "\n")
}

// uci writes /etc/config/opentracker.
func (s *sandbox) uci(text string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "etc", "config", "opentracker"), []byte(text), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// run runs "/etc/init.d/opentracker ACTION" and returns its stderr; its
// exit status (0 or 1) is left in s.exit.
func (s *sandbox) run(action string, env ...string) string {
	s.t.Helper()
	cmd := exec.Command("busybox", "ash", filepath.Join(repoRoot(s.t), "openwrt", "testdata", "standin", "rc.common"),
		filepath.Join(s.dir, "init.d", "opentracker"), action)
	cmd.Env = append(append([]string{}, s.env...), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	s.exit = cmd.ProcessState.ExitCode()
	if err != nil && s.exit != 1 {
		s.t.Fatalf("init script %s: %v\nstdout: %s\nstderr: %s", action, err, out, stderr.String())
	}
	if len(out) > 0 {
		s.t.Errorf("init script %s wrote to stdout: %q", action, out)
	}
	return stderr.String()
}

// calls returns the lines recorded since the last call.
func (s *sandbox) calls() []string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "calls.log"))
	if err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(b) == 0 {
		lines = nil
	}
	out := lines[s.seen:]
	s.seen = len(lines)
	return out
}

// toml returns the generated configuration ("" if there is none).
func (s *sandbox) toml() string {
	s.t.Helper()
	b, err := os.ReadFile(s.conf)
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// index returns the position of the first line starting with prefix, or -1.
func index(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

func hasPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// instance returns the recorded lines from open_instance to close_instance.
func instance(lines []string) []string {
	for i, l := range lines {
		if l == "open_instance" {
			for j := i; j < len(lines); j++ {
				if lines[j] == "close_instance" {
					return lines[i : j+1]
				}
			}
		}
	}
	return nil
}
