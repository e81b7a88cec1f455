//go:build race

package main

// browserRace is true in a build with the race detector, which slows the
// server several times over: time budgets widen under it.
const browserRace = true
