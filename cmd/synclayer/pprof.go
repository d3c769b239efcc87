package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// startPprof serves Go's profiles (/debug/pprof/) on the address in
// SYNCLAYER_PPROF_LISTEN, for profiling a server under load. It is off
// unless set, and on a listener of its own, never the public one: the
// profiles show the program's memory. Use a loopback address.
func (m *Main) startPprof() error {
	addr := os.Getenv("SYNCLAYER_PPROF_LISTEN")
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.New("SYNCLAYER_PPROF_LISTEN: " + err.Error())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	m.addCancel(func() { _ = srv.Close() })
	m.Logger.Warn("serving Go profiles on SYNCLAYER_PPROF_LISTEN; keep it on loopback", "addr", ln.Addr().String())
	return nil
}
