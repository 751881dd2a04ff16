//go:build !linux

package testprom

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
