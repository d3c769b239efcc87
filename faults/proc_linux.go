package faults

import "syscall"

// childAttr has the kernel kill a child (synclayer, or the private
// postmaster) if the harness dies without cleaning up, for instance on a
// test timeout, so nothing is left running on a shared machine.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// runAs makes the child run as uid:gid (the postgres user, when the
// harness runs as root).
func runAs(attr *syscall.SysProcAttr, uid, gid int) {
	attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
