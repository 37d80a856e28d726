//go:build !linux

package http

import "net"

// inlineAcceptor is the Linux inline path; elsewhere Serve only uses Accept.
type inlineAcceptor struct{}

func (s *Server) newInlineAcceptor(*net.TCPListener) *inlineAcceptor { return nil }

func (a *inlineAcceptor) serve() error { return nil }

func (a *inlineAcceptor) close() {}

// wakeParked: connections are only parked by the Linux inline acceptor.
func (cn *conn) wakeParked() {}

// reap: nothing is parked, so evict never asks for it.
func (a *inlineAcceptor) reap(*conn) {}
