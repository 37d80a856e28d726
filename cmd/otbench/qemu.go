//go:build linux

package main

func cmdQemu(args []string) error { return nil }
