//go:build !linux

package faults

import "syscall"

func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

func runAs(*syscall.SysProcAttr, int, int) {}
