package main

import (
	"io"
	"log/slog"
	"strings"
)

// logLevel returns the slog level named by log.level; "" is info.
func logLevel(name string) slog.Level {
	switch name {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// newLogger returns a slog logger at level that replaces every secret value
// with [REDACTED] wherever it appears in a message or attribute, as a last
// line of defence: no code path is meant to log a secret in the first place.
// level may be a *slog.LevelVar, so a skill's log_level can change at runtime.
func newLogger(w io.Writer, lv slog.Leveler, format string, secrets []string) *slog.Logger {
	var keep []string
	for _, s := range secrets {
		if len(s) >= 4 {
			keep = append(keep, s)
		}
	}
	redact := func(s string) string {
		for _, sec := range keep {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
		return s
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		switch a.Value.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(redact(a.Value.String()))
		case slog.KindAny:
			if err, ok := a.Value.Any().(error); ok {
				a.Value = slog.StringValue(redact(err.Error()))
			}
		}
		return a
	}}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// setLogLevel applies log.level, raised to debug while customer-sync asks
// for verbose logs, so debug and log_level changes apply without a restart.
func (m *Main) setLogLevel(cs *CustomerSyncConfig) {
	if m.level == nil {
		return
	}
	level := logLevel(m.Config.Log.Level)
	if cs != nil && (cs.LogLevel == "verbose" || cs.Debug) {
		level = slog.LevelDebug
	}
	m.level.Set(level)
}
