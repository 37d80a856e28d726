//go:build !linux

package http

import "net"

// rawAcceptor is the Linux raw accept path; elsewhere Serve only uses Accept.
type rawAcceptor struct{}

func (s *Server) newRawAcceptor(*net.TCPListener) *rawAcceptor { return nil }

func (a *rawAcceptor) serve() error { return nil }

func (a *rawAcceptor) close() {}

// DeferAccept is a Linux option; elsewhere it does nothing.
func DeferAccept(net.Listener) error { return nil }
