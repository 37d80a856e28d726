package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"github.com/opentracker-go/opentracker/tracker/config"
)

// options are the command-line switches. They follow opentracker's: -i sets
// the address for the -p (TCP) and -P (UDP) ports after it, and with neither,
// -i alone binds port 6969 on it for both.
type options struct {
	configFile string
	check      bool
	version    bool

	ip        netip.Addr
	ipGiven   bool
	tcp, udp  []string
	tcpGiven  bool
	udpGiven  bool
	admin     []string
	whitelist string
	blacklist string
	redirect  *string
	dir       *string
	user      *string
	stateFile *string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{ip: netip.IPv6Unspecified()}
	fs := flag.NewFlagSet("opentracker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: opentracker [-f config.toml] [-t] [-i ip] [-p tcpport] [-P udpport]
                   [-A adminip] [-w whitelist | -b blacklist] [-r redirect]
                   [-d chrootdir] [-u user] [-l statefile] [-v]
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.configFile, "f", "", "read the TOML configuration `file`")
	fs.BoolVar(&o.check, "t", false, "check the configuration and exit")
	fs.BoolVar(&o.version, "v", false, "print the version and exit")
	fs.Func("i", "`ip` for the following -p and -P (default ::)", func(s string) error {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q is not an IP address", s)
		}
		o.ip, o.ipGiven = a, true
		return nil
	})
	port := func(dst *[]string, given *bool) func(string) error {
		return func(s string) error {
			p, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				return fmt.Errorf("%q is not a port", s)
			}
			*given = true
			if p != 0 { // port 0 switches the protocol off
				*dst = append(*dst, bindsFor(o.ip, uint16(p))...)
			}
			return nil
		}
	}
	fs.Func("p", "serve HTTP on TCP `port` (repeatable; 0: no TCP)", port(&o.tcp, &o.tcpGiven))
	fs.Func("P", "serve UDP on `port` (repeatable; 0: no UDP)", port(&o.udp, &o.udpGiven))
	fs.Func("A", "admin `ip` or network: may see /stats and full scrapes (repeatable)", func(s string) error {
		o.admin = append(o.admin, s)
		return nil
	})
	fs.StringVar(&o.whitelist, "w", "", "serve only the torrents listed in `file`")
	fs.StringVar(&o.blacklist, "b", "", "refuse the torrents listed in `file`")
	set := func(dst **string) func(string) error {
		return func(s string) error { *dst = &s; return nil }
	}
	fs.Func("r", "redirect `url` for GET /", set(&o.redirect))
	fs.Func("d", "chroot to `dir` after binding (when root)", set(&o.dir))
	fs.Func("u", "run as `user` after binding (when root)", set(&o.user))
	fs.Func("l", "save the torrent table to `file` on exit and load it at start", set(&o.stateFile))
	if err := fs.Parse(args); err != nil {
		return nil, err // the flag package printed it and the usage
	}
	// The flag package stops at the first argument that is not a switch.
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q (every option is a -switch; the configuration file is -f file)", fs.Arg(0))
	case o.whitelist != "" && o.blacklist != "":
		err = errors.New("-w and -b exclude each other: a tracker has one access list")
	}
	if err != nil {
		fmt.Fprintf(stderr, "opentracker: %v\n", err)
		fs.Usage()
		return nil, err
	}
	if o.ipGiven && !o.tcpGiven && !o.udpGiven {
		def := bindsFor(o.ip, 6969)
		o.tcp, o.udp, o.tcpGiven, o.udpGiven = def, def, true, true
	}
	return o, nil
}

// bindsFor returns the listen addresses for ip and port. "::" (also the
// default) means every address, v4 and v6, as for opentracker: the binds are
// "0.0.0.0" and "[::]" (IPv6 only) rather than one dual-stack socket, which
// some router kernels are built without.
func bindsFor(ip netip.Addr, port uint16) []string {
	if ip == netip.IPv6Unspecified() {
		return []string{
			netip.AddrPortFrom(netip.IPv4Unspecified(), port).String(),
			netip.AddrPortFrom(ip, port).String(),
		}
	}
	return []string{netip.AddrPortFrom(ip, port).String()}
}

// apply lays the switches over the configuration.
func (o *options) apply(c *config.Config) {
	if o.tcpGiven {
		c.Listen.TCP = o.tcp
		c.Set("listen.tcp", "-i/-p")
	}
	if o.udpGiven {
		c.Listen.UDP = o.udp
		c.Set("listen.udp", "-i/-P")
	}
	if len(o.admin) > 0 {
		c.Access.Admin = append(c.Access.Admin, o.admin...)
		c.Set("access.admin", "-A")
	}
	if o.whitelist != "" {
		c.Access.Mode, c.Access.List = "whitelist", o.whitelist
		c.Set("access.list", "-w")
	}
	if o.blacklist != "" {
		c.Access.Mode, c.Access.List = "blacklist", o.blacklist
		c.Set("access.list", "-b")
	}
	for _, f := range []struct {
		value      *string
		dst        *string
		key, given string
	}{
		{o.redirect, &c.HTTP.Redirect, "http.redirect", "-r"},
		{o.dir, &c.System.Chroot, "system.chroot", "-d"},
		{o.user, &c.System.User, "system.user", "-u"},
		{o.stateFile, &c.State.File, "state.file", "-l"},
	} {
		if f.value != nil {
			*f.dst = *f.value
			c.Set(f.key, f.given)
		}
	}
}
