//go:build !unix

package cost

import (
	"errors"
	"time"
)

// costProcessCPU is not available here: getrusage is Unix's.
func costProcessCPU() (time.Duration, error) {
	return 0, errors.New("the process's CPU time is read with getrusage, which this system lacks")
}
