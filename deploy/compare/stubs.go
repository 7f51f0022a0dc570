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
