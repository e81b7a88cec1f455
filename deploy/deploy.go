// Package deploy holds Hanashi's deployment artefacts and the tests that
// keep them honest: the container image (Dockerfile), the stack for one
// machine (docker-compose.yml, Caddyfile), the Kubernetes manifests
// (kubernetes/) and the Grafana dashboard (grafana/). It has no code; its
// tests decode every manifest strictly into the Kubernetes API types, check
// what a decoder cannot (probes, resources, security contexts, references
// between objects, no passwords), build and start the static binary the
// Dockerfile builds, and hold docs/operations.md to the server's flags.
//
// It is a module of its own so that the Kubernetes API types never enter
// Hanashi's dependencies: run its tests with `go test ./...` here.
package deploy
