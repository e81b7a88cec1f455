//go:build !race

package main

// browserRace is true in a build with the race detector (see
// browser_race_test.go).
const browserRace = false
