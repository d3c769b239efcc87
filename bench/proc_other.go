//go:build !linux

package main

import (
	"os"
	"syscall"
)

// sysProcAttr: only Linux can tie the child's life to ours.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// maxRSSMiB: the peak resident set is read on Linux only.
func maxRSSMiB(*os.ProcessState) float64 { return 0 }
