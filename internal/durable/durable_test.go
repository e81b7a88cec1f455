package durable_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hanashi-chat/hanashi/internal/durable"
)

func TestRename(t *testing.T) {
	dir := t.TempDir()
	tmp, dst := filepath.Join(dir, "f.partial"), filepath.Join(dir, "f")
	if err := os.WriteFile(tmp, []byte("whole"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := durable.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "whole" {
		t.Errorf("%s holds %q, %v; want the renamed file", dst, b, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", tmp, err)
	}
	if err := durable.Rename(tmp, dst); err == nil {
		t.Errorf("Rename of a missing file succeeded")
	}
}
