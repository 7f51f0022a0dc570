//go:build !linux

package proctest

import "syscall"

// sysProcAttr returns the defaults: only Linux can tie a process's life to
// its parent's.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
