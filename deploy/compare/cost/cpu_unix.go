//go:build unix

package cost

import (
	"fmt"
	"syscall"
	"time"
)

// costProcessCPU returns the CPU time this process used so far, user and
// system (getrusage RUSAGE_SELF).
func costProcessCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
