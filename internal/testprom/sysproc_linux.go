package testprom

import "syscall"

// sysProcAttr kills Prometheus when the test binary dies, so an interrupted
// test run leaves no server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
