package main

import (
	"os"
	"syscall"
)

// sysProcAttr has the kernel kill the server if the bench dies without
// cleaning up (kill -9), so no synclayer is left running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// maxRSSMiB is an exited child's peak resident set (its VmHWM), from
// wait4's rusage, in MiB.
func maxRSSMiB(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}
