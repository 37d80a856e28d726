package http

import (
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// forwardedClient returns the client address that a request from the
// trusted proxy peer speaks for. Every proxy appends the address it received
// the request from to X-Forwarded-For, so only the right end of the list is
// written by hosts we trust: anything to the left of the first untrusted
// address may be the client's own invention (a client that sends
// "X-Forwarded-For: 127.0.0.1" through nginx's $proxy_add_x_forwarded_for
// arrives as "127.0.0.1, <its real address>"). So the list — all
// X-Forwarded-For lines of headers, in order, read as one — is walked from
// the right, skipping trusted proxies, and the first untrusted address is
// the client, as nginx's realip module does with real_ip_recursive on.
// When every address is trusted, the leftmost one is the client; when an
// element is not an address, the walk stops at the last trusted address.
func forwardedClient(headers []byte, peer netip.Addr, proxies logic.Networks) netip.Addr {
	client := peer
	for len(headers) > 0 {
		var line []byte
		line, headers = cutLastLine(headers)
		colon := indexByte(line, ':')
		if colon <= 0 || !equalFold(line[:colon], "x-forwarded-for") {
			continue
		}
		list := line[colon+1:]
		for len(list) > 0 {
			var elem []byte
			list, elem = cutLastElement(list)
			elem = trimSpace(elem)
			if len(elem) == 0 {
				continue // "a, , b" or a trailing comma: no element
			}
			a, err := netip.ParseAddr(string(elem))
			if err != nil {
				return client
			}
			client = a.Unmap()
			if !proxies.Contains(client) {
				return client
			}
		}
	}
	return client
}

// cutLastLine splits b before its last line, dropping that line's CR LF.
func cutLastLine(b []byte) (line, rest []byte) {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	i := len(b) - 1
	for i >= 0 && b[i] != '\n' {
		i--
	}
	line, rest = b[i+1:], b[:i+1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// cutLastElement splits a comma-separated list before its last element.
func cutLastElement(list []byte) (rest, elem []byte) {
	i := len(list) - 1
	for i >= 0 && list[i] != ',' {
		i--
	}
	if i < 0 {
		return nil, list
	}
	return list[:i], list[i+1:]
}
