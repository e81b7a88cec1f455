// Package ui is Hanashi's web client as the server serves it: the bundle
// that Vite builds from this folder's TypeScript (src/) into dist/,
// committed and embedded here so that building or running the server
// needs no Node. Beside every compressible file of at least 1 KiB the
// build writes a gzip (.gz) and a brotli (.br) copy, which package web
// serves to browsers that accept them.
//
// dist/ must be what a fresh build of src/ gives: ./scripts/test builds
// the client again and fails when the two differ. After changing the
// client run `cd ui && npm ci && npm run build` and commit dist/.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Files returns the built client: index.html at the root and the hashed
// assets under assets/.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}
