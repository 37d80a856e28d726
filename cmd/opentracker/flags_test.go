package main

import (
	"io"
	"slices"
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
