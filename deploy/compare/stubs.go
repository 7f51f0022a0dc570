package compare

import (
	"context"
	"errors"
)

// The sections not built yet. Each is replaced by the file of its own.

func outcomesSection(context.Context, *Env) (*Section, error) { return nil, errors.New("not built") }
func speedSection(context.Context, *Env) (*Section, error)    { return nil, errors.New("not built") }
func costSection(context.Context, *Env) (*Section, error)     { return nil, errors.New("not built") }
func failureSection(context.Context, *Env) (*Section, error)  { return nil, errors.New("not built") }

// headlines draws the report's main findings from its sections.
func headlines(*Report) []string { return nil }

// Write writes report.md, report.html and report.json into dir.
func Write(*Report, string) error { return errors.New("not built") }
