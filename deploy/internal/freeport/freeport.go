// Package freeport finds TCP ports that nothing listens on, for servers that
// must be told a concrete port before they start.
package freeport

import (
	"fmt"
	"net"
	"strconv"
)

// Get returns a port on host that is free now. The port is left in
// TIME_WAIT by a connection closed from the listening side, so the kernel
// does not hand it out again for a while, while a server may still bind it.
func Get(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", host, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return port, nil // the port is free all the same
	}
	if server, ok := <-accepted; ok {
		server.Close() // the listening side closes first: TIME_WAIT is on its port
	}
	client.Close()
	return port, nil
}

// Resolve returns address with a free port in place of port 0; any other
// address is returned as it is.
func Resolve(address string) (string, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", address, err)
	}
	if port != "0" {
		return address, nil
	}
	p, err := Get(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// Check reports an error when address cannot be listened on now.
func Check(address string) error {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return err
	}
	return ln.Close()
}
