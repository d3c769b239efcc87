//go:build race

package main

// raceDetector reports whether the tests run with -race, which slows the
// pure-Go SQLite about twentyfold: long tests then use smaller inputs.
const raceDetector = true
