package ui_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/ui"
)

// TestFiles checks the embedded bundle: index.html is at its root and every
// file it links is there, by a relative URL (the server may be reached
// under a path prefix), and so is a script.
func TestFiles(t *testing.T) {
	files := ui.Files()
	page, err := fs.ReadFile(files, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllSubmatch(page, -1)
	scripts := 0
	for _, m := range links {
		link := string(m[1])
		if !strings.HasPrefix(link, "./") {
			t.Errorf("index.html links %q, want a relative URL, ./…", link)
			continue
		}
		if _, err := fs.Stat(files, strings.TrimPrefix(link, "./")); err != nil {
			t.Errorf("index.html links %q: %v", link, err)
		}
		if strings.HasSuffix(link, ".js") {
			scripts++
		}
	}
	if scripts == 0 {
		t.Errorf("index.html links no script:\n%s", page)
	}
}
