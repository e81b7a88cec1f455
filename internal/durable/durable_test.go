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

func TestPartial(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "backup")
	if err := os.WriteFile(out+".partial", []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp, err := durable.Partial(out)
	if err != nil || tmp != out+".partial" {
		t.Fatalf("Partial(%s) = %q, %v; want %s.partial", out, tmp, err, out)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the old partial file is still there: %v", err)
	}
	if err := os.WriteFile(out, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := durable.Partial(out); err == nil {
		t.Errorf("Partial of an existing file succeeded")
	}
}
