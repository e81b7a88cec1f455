package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/hanashi-chat/hanashi/postgres"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// backup writes a backup of the configured database to cfg.Output, for
// "hanashi backup", while servers go on using it: the SQLite file of the
// data directory, copied by VACUUM INTO, or the PostgreSQL database,
// dumped by pg_dump (see "Backup and restore" in docs/operations.md). The
// data directory's other files (avatars) are not in it.
func backup(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	start := time.Now()
	var err error
	if cfg.DatabaseURL != "" {
		err = postgres.Backup(ctx, cfg.DatabaseURL, cfg.PGBin, cfg.Output)
	} else {
		err = sqlite.Backup(ctx, cfg.sqlitePath(), cfg.Output)
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(cfg.Output)
	if err != nil {
		return err
	}
	took := time.Since(start).Round(time.Millisecond)
	log.Info("backup written", "database", cfg.databaseName(), "file", cfg.Output, "bytes", fi.Size(), "took", took)
	fmt.Fprintf(stdout, "Backup of %s written to %s (%d bytes in %v)\n", cfg.databaseName(), cfg.Output, fi.Size(), took)
	return nil
}

// restore brings the backup cfg.Input back, for "hanashi restore": into
// the data directory, which must be empty or missing, or into the
// PostgreSQL database, which must have no tables. The schema is brought up
// to date, so a server of this build can start on it at once.
func restore(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	if cfg.DatabaseURL != "" {
		if err := postgres.Restore(ctx, cfg.DatabaseURL, cfg.PGBin, cfg.Input); err != nil {
			return err
		}
	} else {
		if err := emptyDir(cfg.DataDir); err != nil {
			return err
		}
		if err := sqlite.Restore(ctx, cfg.Input, cfg.sqlitePath()); err != nil {
			return err
		}
	}
	log.Info("backup restored", "file", cfg.Input, "database", cfg.databaseName())
	fmt.Fprintf(stdout, "Backup %s restored into %s\n", cfg.Input, cfg.databaseName())
	return nil
}

// emptyDir returns an error unless dir is an empty directory or does not
// exist: a restore never mixes a backup with what a directory holds.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("data directory %s is not empty (it holds %s): restore needs an empty or new one", dir, entries[0].Name())
	}
	return nil
}
