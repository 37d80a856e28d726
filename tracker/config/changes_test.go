package config

import (
	"strings"
	"testing"
)

// TestChangesSplitsLiveAndRestartKeys: a changed interval or admin list is
// live, a changed bind or budget needs a restart, unchanged keys are not
// listed, and every restart key names a real key.
func TestChangesSplitsLiveAndRestartKeys(t *testing.T) {
	old, err := Parse("", "a.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	next, err := Parse("memory_budget = \"32M\"\n[announce]\ninterval = 900\n[access]\nadmin = [\"10.0.0.0/8\"]\n"+
		"[listen]\ntcp = [\"127.0.0.1:1\"]\n[state]\nsave_interval = 30\n", "b.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	live, restart := old.Changes(next)
	if got := strings.Join(live, " "); got != "announce.interval access.admin state.save_interval" {
		t.Errorf("live changes %q", got)
	}
	if got := strings.Join(restart, " "); got != "memory_budget listen.tcp" {
		t.Errorf("restart changes %q", got)
	}
	if live, restart := next.Changes(next); len(live)+len(restart) != 0 {
		t.Errorf("a config differs from itself: %v %v", live, restart)
	}
	if got := len(RestartKeys()); got != len(restartKeys) {
		t.Errorf("RestartKeys finds %d of the %d restart keys: %v", got, len(restartKeys), RestartKeys())
	}
}

func TestSaveIntervalIsChecked(t *testing.T) {
	for src, ok := range map[string]bool{
		"[state]\nsave_interval = 0\n":     true,
		"[state]\nsave_interval = 60\n":    true,
		"[state]\nsave_interval = 2\n":     false,
		"[state]\nsave_interval = -1\n":    false,
		"[state]\nsave_interval = 90000\n": false,
	} {
		_, err := Parse(src, "s.toml", nil)
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "s.toml:2: state.save_interval") {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestInForceKeepsRestartKeys(t *testing.T) {
	old, _ := Parse("", "a.toml", nil)
	next, err := Parse("memory_budget = \"32M\"\n[announce]\ninterval = 900\n[listen]\ntcp = [\"127.0.0.1:1\"]\n", "b.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := old.InForce(next)
	if got.Announce.Interval != 900 || got.MemoryBudget != old.MemoryBudget || strings.Join(got.Listen.TCP, " ") != strings.Join(old.Listen.TCP, " ") {
		t.Fatalf("in force: interval %d, budget %d, tcp %v", got.Announce.Interval, got.MemoryBudget, got.Listen.TCP)
	}
	if next.MemoryBudget != 32<<20 {
		t.Fatal("InForce changed next")
	}
	if live, restart := got.Changes(next); len(live) != 0 || strings.Join(restart, " ") != "memory_budget listen.tcp" {
		t.Fatalf("still pending: %v %v", live, restart)
	}
}
