package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/dlq"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
)

func dlqCommand() command {
	return command{
		name:    "dlq",
		summary: "list and replay the choreographed variant's dead letters (dlq list, dlq replay)",
		sub: []command{
			{name: "list", summary: "print the dead letters: where they came from, their event and why they failed", run: dlqList},
			{name: "replay", summary: "republish dead letters to their original topic (-all, or <partition>/<offset>...)", run: dlqReplay},
		},
	}
}

// dlqSettings locate a deployment's dead-letter topic.
type dlqSettings struct {
	brokers     []string
	topicPrefix string
}

// bind registers the settings as flags of fs, their environment values as
// defaults.
func (s *dlqSettings) bind(fs *flag.FlagSet, env *environment) error {
	s.brokers = []string{kafkadev.DefaultAddress}
	s.topicPrefix = process.DefaultTopicPrefix
	return envflag.Bind(fs, process.EnvPrefix, env.lookupEnv,
		envflag.Var{Name: "kafka-brokers", Usage: "Kafka bootstrap `brokers`, comma-separated host:port", Value: envflag.List(&s.brokers)},
		envflag.Var{Name: "topic-prefix", Usage: "`prefix` of the topic names; the dead-letter topic is <prefix>.deadletter", Value: envflag.String(&s.topicPrefix)},
	)
}

// client returns the dead-letter client of the settings.
func (s *dlqSettings) client() (dlq.Client, error) {
	if len(s.brokers) == 0 {
		return dlq.Client{}, errors.New("no kafka brokers")
	}
	if s.topicPrefix == "" {
		return dlq.Client{}, errors.New("the topic prefix is empty")
	}
	return dlq.Client{Brokers: s.brokers, Topic: events.Topics{Prefix: s.topicPrefix}.DeadLetter()}, nil
}

// parseDLQFlags parses the flags of a dlq subcommand, returning its
// positional arguments.
func parseDLQFlags(fs *flag.FlagSet, env *environment, s *dlqSettings, args []string) ([]string, error) {
	envErr := s.bind(fs, env)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if envErr != nil {
		fmt.Fprintf(env.stderr, "%s: %v\n", fs.Name(), envErr)
		return nil, errUsage
	}
	return fs.Args(), nil
}

// letterJSON is a dead letter as dlq list -json prints it.
type letterJSON struct {
	Ref               string    `json:"ref"`
	Partition         int       `json:"partition"`
	Offset            int64     `json:"offset"`
	Time              time.Time `json:"time"`
	OriginalTopic     string    `json:"original_topic"`
	OriginalPartition int       `json:"original_partition"`
	OriginalOffset    int64     `json:"original_offset"`
	Group             string    `json:"consumer_group,omitempty"`
	FailedAt          time.Time `json:"failed_at,omitzero"`
	Attempts          int       `json:"attempts,omitempty"`
	Reason            string    `json:"reason"`
	EventType         string    `json:"event_type,omitempty"`
	EventID           string    `json:"event_id,omitempty"`
	OrderID           string    `json:"order_id,omitempty"`
	Key               string    `json:"key"`
	// Value is the original message's value, base64-encoded (it may not
	// even be text).
	Value []byte `json:"value"`
}

func toLetterJSON(l dlq.Letter) letterJSON {
	return letterJSON{
		Ref: l.Ref(), Partition: l.Partition, Offset: l.Offset, Time: l.Time.UTC(),
		OriginalTopic: l.OriginalTopic, OriginalPartition: l.OriginalPartition, OriginalOffset: l.OriginalOffset,
		Group: l.Group, FailedAt: l.FailedAt.UTC(), Attempts: l.Attempts, Reason: l.Reason,
		EventType: string(l.EventType), EventID: l.EventID, OrderID: l.OrderID,
		Key: string(l.Key), Value: l.Value,
	}
}

// dlqList prints the dead letters, as a table or as JSON.
func dlqList(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ordersaga dlq list", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var s dlqSettings
	asJSON := fs.Bool("json", false, "print a JSON array, with each letter's key and value")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ordersaga dlq list [flags]\n\nPrints every message of the dead-letter topic.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	rest, err := parseDLQFlags(fs, env, &s, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(env.stderr, "ordersaga dlq list: unexpected arguments: %s\n", strings.Join(rest, " "))
		return errUsage
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	letters, err := c.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]letterJSON, 0, len(letters))
		for _, l := range letters {
			out = append(out, toLetterJSON(l))
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(letters) == 0 {
		fmt.Fprintf(env.stdout, "no dead letters in %s\n", c.Topic)
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REF\tTIME\tORIGINAL TOPIC\tEVENT TYPE\tORDER\tREASON")
	for _, l := range letters {
		at := l.FailedAt
		if at.IsZero() {
			at = l.Time
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Ref(), at.UTC().Format(time.RFC3339),
			dash(l.OriginalTopic), dash(string(l.EventType)), dash(l.OrderID), oneLine(l.Reason, 100))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("printing dead letters: %w", err)
	}
	fmt.Fprintf(env.stdout, "%d dead letters in %s\n", len(letters), c.Topic)
	return nil
}

// dlqReplay republishes the dead letters named by the arguments, or every
// one with -all, to their original topics.
func dlqReplay(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ordersaga dlq replay", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var s dlqSettings
	all := fs.Bool("all", false, "replay every dead letter")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ordersaga dlq replay [flags] (-all | <partition>/<offset>...)\n\n")
		fmt.Fprintf(fs.Output(), "Republishes dead letters (refs as dlq list prints them) to their original topic. The consumers\n")
		fmt.Fprintf(fs.Output(), "that had handled one skip it as a duplicate, so replaying twice is safe. The letters stay in\n")
		fmt.Fprintf(fs.Output(), "the dead-letter topic.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// Flags may follow the references.
	var refs []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		refs, args = append(refs, args[0]), args[1:]
	}
	rest, err := parseDLQFlags(fs, env, &s, args)
	if err != nil {
		return err
	}
	refs = append(refs, rest...)
	switch {
	case *all && len(refs) > 0:
		fmt.Fprintf(env.stderr, "ordersaga dlq replay: give -all or references, not both\n")
		return errUsage
	case !*all && len(refs) == 0:
		fmt.Fprintf(env.stderr, "ordersaga dlq replay: name the dead letters to replay (<partition>/<offset>, as dlq list prints them) or give -all\n")
		return errUsage
	}
	for _, r := range refs {
		if _, _, err := dlq.ParseRef(r); err != nil {
			fmt.Fprintf(env.stderr, "ordersaga dlq replay: %v\n", err)
			return errUsage
		}
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	letters, err := c.List(ctx)
	if err != nil {
		return err
	}
	if !*all {
		if letters, err = dlq.Select(letters, refs...); err != nil {
			return err
		}
	}
	if len(letters) == 0 {
		fmt.Fprintf(env.stdout, "no dead letters in %s\n", c.Topic)
		return nil
	}
	w := broker.NewWriter(s.brokers, slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	err = dlq.Replay(ctx, w, letters...)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing the kafka writer: %w", cerr)
	}
	if err != nil {
		return err
	}
	for _, l := range letters {
		fmt.Fprintf(env.stdout, "replayed %s to %s\n", l.Ref(), l.OriginalTopic)
	}
	return nil
}

// dash returns s, or "-" for an empty s.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine returns s on one line, cut to at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
