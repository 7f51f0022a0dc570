package cli

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

func dlqCommand() Command {
	return Command{
		Name:    "dlq",
		Summary: "list and replay the choreographed variant's dead letters (dlq list, dlq replay)",
		Sub: []Command{
			{Name: "list", Summary: "print the dead letters: where they came from, their event and why they failed", bind: bindDLQList},
			{Name: "replay", Summary: "republish dead letters to their original topic (-all, or <partition>/<offset>...)", args: "<partition>/<offset>...", bind: bindDLQReplay},
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
func (s *dlqSettings) bind(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) error {
	s.brokers = []string{kafkadev.DefaultAddress}
	s.topicPrefix = process.DefaultTopicPrefix
	return envflag.Bind(fs, process.EnvPrefix, lookupEnv,
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

// bindDLQList registers the flags of dlq list.
func bindDLQList(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	var s dlqSettings
	err := s.bind(fs, lookupEnv)
	asJSON := false
	fs.Var(envflag.Bool(&asJSON), "json", "print a JSON array, with each letter's key and value")
	fs.Usage = usageFunc(fs, "ordersaga dlq list [flags]", "Prints every message of the dead-letter topic.")
	return func(ctx context.Context, env *Env, _ []string) error {
		return dlqList(ctx, env, &s, asJSON)
	}, err
}

// dlqList prints the dead letters, as a table or as JSON.
func dlqList(ctx context.Context, env *Env, s *dlqSettings, asJSON bool) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	letters, err := c.List(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]letterJSON, 0, len(letters))
		for _, l := range letters {
			out = append(out, toLetterJSON(l))
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(letters) == 0 {
		fmt.Fprintf(env.Stdout, "no dead letters in %s\n", c.Topic)
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
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
	fmt.Fprintf(env.Stdout, "%d dead letters in %s\n", len(letters), c.Topic)
	return nil
}

// bindDLQReplay registers the flags of dlq replay.
func bindDLQReplay(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	var s dlqSettings
	err := s.bind(fs, lookupEnv)
	all := false
	fs.Var(envflag.Bool(&all), "all", "replay every dead letter")
	fs.Usage = usageFunc(fs, "ordersaga dlq replay [flags] (-all | <partition>/<offset>...)",
		"Republishes dead letters (refs as dlq list prints them) to their original topic. The consumers",
		"that had handled one skip it as a duplicate, so replaying twice is safe. The letters stay in",
		"the dead-letter topic.")
	return func(ctx context.Context, env *Env, refs []string) error {
		return dlqReplay(ctx, env, &s, all, refs)
	}, err
}

// dlqReplay republishes the dead letters named by refs, or every one with
// all, to their original topics.
func dlqReplay(ctx context.Context, env *Env, s *dlqSettings, all bool, refs []string) error {
	switch {
	case all && len(refs) > 0:
		return usageErrorf("give -all or references, not both")
	case !all && len(refs) == 0:
		return usageErrorf("name the dead letters to replay (<partition>/<offset>, as dlq list prints them) or give -all")
	}
	for _, r := range refs {
		if _, _, err := dlq.ParseRef(r); err != nil {
			return usageErrorf("%v", err)
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
	if !all {
		if letters, err = dlq.Select(letters, refs...); err != nil {
			return err
		}
	}
	if len(letters) == 0 {
		fmt.Fprintf(env.Stdout, "no dead letters in %s\n", c.Topic)
		return nil
	}
	w := broker.NewWriter(s.brokers, slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	err = dlq.Replay(ctx, w, letters...)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing the kafka writer: %w", cerr)
	}
	if err != nil {
		return err
	}
	for _, l := range letters {
		fmt.Fprintf(env.Stdout, "replayed %s to %s\n", l.Ref(), l.OriginalTopic)
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
