package main

import "syscall"

// sysProcAttr has the kernel kill the server if the bench dies without
// cleaning up (kill -9), so no synclayer is left running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
