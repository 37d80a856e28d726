package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/config"
)

func TestFlagsBindLikeOpentracker(t *testing.T) {
	cases := []struct {
		args     []string
		tcp, udp []string
	}{
		{nil, []string{"0.0.0.0:6969", "[::]:6969"}, []string{"0.0.0.0:6969", "[::]:6969"}}, // config defaults
		{[]string{"-p", "7000"}, []string{"0.0.0.0:7000", "[::]:7000"}, []string{"0.0.0.0:6969", "[::]:6969"}},
		{[]string{"-i", "127.0.0.1"}, []string{"127.0.0.1:6969"}, []string{"127.0.0.1:6969"}},
		{[]string{"-i", "127.0.0.1", "-p", "1", "-i", "::1", "-p", "2", "-P", "3"}, []string{"127.0.0.1:1", "[::1]:2"}, []string{"[::1]:3"}},
		{[]string{"-i", "::", "-P", "0"}, []string{"0.0.0.0:6969", "[::]:6969"}, nil},
	}
	for _, c := range cases {
		o, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		cfg, _ := config.Load("")
		o.apply(cfg)
		if !slices.Equal(cfg.Listen.TCP, c.tcp) || !slices.Equal(cfg.Listen.UDP, c.udp) {
			t.Errorf("%v: tcp %v udp %v, want %v %v", c.args, cfg.Listen.TCP, cfg.Listen.UDP, c.tcp, c.udp)
		}
	}
	for _, bad := range [][]string{{"-p", "x"}, {"-i", "1.2.3"}, {"-w", "a", "-b", "b"}, {"stray"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// The other switches set their keys, and a bad value names the switch.
func TestFlagsSetKeys(t *testing.T) {
	o, err := parseFlags([]string{"-r", "https://example.org/", "-d", "/var/empty", "-u", "nobody", "-l", "/tmp/ot.state", "-A", "10.0.0.0/8", "-w", "/etc/wl"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Load("")
	o.apply(cfg)
	if cfg.HTTP.Redirect != "https://example.org/" || cfg.System.Chroot != "/var/empty" || cfg.System.User != "nobody" ||
		cfg.State.File != "/tmp/ot.state" || !slices.Contains(cfg.Access.Admin, "10.0.0.0/8") ||
		cfg.Access.Mode != "whitelist" || cfg.Access.List != "/etc/wl" {
		t.Fatalf("applied: %+v %+v %+v %+v", cfg.HTTP, cfg.System, cfg.State, cfg.Access)
	}
	o, _ = parseFlags([]string{"-r", "example.org"}, io.Discard)
	cfg, _ = config.Load("")
	o.apply(cfg)
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "command line -r: http.redirect") {
		t.Fatalf("bad -r: %v", err)
	}
}
