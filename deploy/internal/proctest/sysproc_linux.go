package proctest

import "syscall"

// sysProcAttr makes the kernel kill a started process when the test that
// started it dies, so no process outlives a crashed or timed-out test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
