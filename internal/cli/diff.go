package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// difference is one thing that differs between two environments: an
// object only one has (OnlyIn), or one field of an object both have.
type difference struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	OnlyIn string `json:"only_in,omitempty"`
	Field  string `json:"field,omitempty"`
	// From and To are JSON values; empty means unset on that side.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// policyObject is the name under which the environment policy is compared.
const policyObject = "policy"

// compared are the kinds diff compares and what of each object: the
// fields that promotion must carry over, not the ones that differ per
// environment by nature (uids, times, artifact paths, approval reasons).
var compared = []struct {
	kind    string
	project func(raw json.RawMessage) (any, error)
}{
	{api.KindModelVersion, func(raw json.RawMessage) (any, error) {
		var mv api.ModelVersion
		if err := json.Unmarshal(raw, &mv); err != nil {
			return nil, err
		}
		return map[string]any{"model": mv.Spec.Model, "framework": mv.Spec.Framework, "artifact_sha256": mv.Spec.ArtifactSHA256,
			"approval": map[string]any{"status": mv.Spec.Approval.Status}}, nil
	}},
	{api.KindModelAlias, func(raw json.RawMessage) (any, error) {
		var al api.ModelAlias
		if err := json.Unmarshal(raw, &al); err != nil {
			return nil, err
		}
		return map[string]any{"model": al.Spec.Model, "version": al.Spec.Version}, nil
	}},
	{api.KindModelEndpoint, func(raw json.RawMessage) (any, error) {
		var ep api.ModelEndpoint
		if err := json.Unmarshal(raw, &ep); err != nil {
			return nil, err
		}
		// A retry counter, not configuration.
		ep.Spec.RolloutAttempt = 0
		return ep.Spec, nil
	}},
}

func (a *app) diffCommand() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "diff --from ENV --to ENV",
		Short: "Show what differs between two environments",
		Long: `diff compares two environments, e.g. before promoting dev to prod: the
environment policy (GPU quota, allowed accelerators, require_approved_models,
required alarms, deletion protection), the model versions (model, framework,
artifact sha256 and approval status), the model aliases (which version
each points at) and the model endpoints' configuration (variants with their
model versions, compute, replicas, autoscaling and traffic, the shadow
variant, smoke test and rollout strategy). Objects are matched by name.

Like diff(1) it exits 0 when the environments do not differ, 1 when they
do, and 2 on any error. -o json prints the differences as a JSON array.`,
		Example: `  mlopsctl diff --from staging --to prod
  mlopsctl diff --from dev --to prod -o json | jq '.[] | select(.kind == "model-endpoints")'`,
		Args:        argsN(),
		Annotations: map[string]string{annotationDiffExit: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usageErrorf("name both environments: --from ENV --to ENV")
			}
			asJSON, err := a.jsonOutput()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			diffs, err := diffEnvironments(cmd.Context(), c, from, to)
			if err != nil {
				return err
			}
			if asJSON {
				if diffs == nil {
					diffs = []difference{}
				}
				if err := printJSON(a.io.Stdout, diffs); err != nil {
					return err
				}
			} else {
				printDiff(a.io.Stdout, from, to, diffs)
			}
			if len(diffs) > 0 {
				return &noError{}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the environment to compare from, e.g. dev")
	cmd.Flags().StringVar(&to, "to", "", "the environment to compare to, e.g. prod")
	for _, f := range []string{"from", "to"} {
		_ = cmd.RegisterFlagCompletionFunc(f, func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			return a.completeNames(cmd, api.KindEnvironment), cobra.ShellCompDirectiveNoFileComp
		})
	}
	return cmd
}

// diffEnvironments lists the differences between environments from and to,
// policy first, then by kind and name.
func diffEnvironments(ctx context.Context, c *client.Client, from, to string) ([]difference, error) {
	var diffs []difference
	envFrom, err := c.GetEnvironment(ctx, from)
	if err != nil {
		return nil, err
	}
	envTo, err := c.GetEnvironment(ctx, to)
	if err != nil {
		return nil, err
	}
	d, err := diffValues(api.KindEnvironment, policyObject, envFrom.Spec.Policy, envTo.Spec.Policy)
	if err != nil {
		return nil, err
	}
	diffs = append(diffs, d...)
	for _, k := range compared {
		left, err := projectAll(ctx, c, k.kind, from, k.project)
		if err != nil {
			return nil, err
		}
		right, err := projectAll(ctx, c, k.kind, to, k.project)
		if err != nil {
			return nil, err
		}
		names := map[string]bool{}
		for n := range left {
			names[n] = true
		}
		for n := range right {
			names[n] = true
		}
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		for _, n := range sorted {
			l, inLeft := left[n]
			r, inRight := right[n]
			switch {
			case !inRight:
				diffs = append(diffs, difference{Kind: k.kind, Name: n, OnlyIn: from})
			case !inLeft:
				diffs = append(diffs, difference{Kind: k.kind, Name: n, OnlyIn: to})
			default:
				d, err := diffValues(k.kind, n, l, r)
				if err != nil {
					return nil, err
				}
				diffs = append(diffs, d...)
			}
		}
	}
	return diffs, nil
}

// projectAll lists kind in env and projects each object, by name.
func projectAll(ctx context.Context, c *client.Client, kind, env string, project func(json.RawMessage) (any, error)) (map[string]any, error) {
	items, err := c.ListAllJSON(ctx, kind, env)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(items))
	for _, raw := range items {
		var o struct {
			Metadata api.Metadata `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("decoding %s from mlopsd: %w", kind, err)
		}
		p, err := project(raw)
		if err != nil {
			return nil, fmt.Errorf("decoding %s %q from mlopsd: %w", kind, o.Metadata.Name, err)
		}
		out[o.Metadata.Name] = p
	}
	return out, nil
}

// diffValues compares two values field by field.
func diffValues(kind, name string, from, to any) ([]difference, error) {
	l, err := flatten(from)
	if err != nil {
		return nil, err
	}
	r, err := flatten(to)
	if err != nil {
		return nil, err
	}
	paths := map[string]bool{}
	for p := range l {
		paths[p] = true
	}
	for p := range r {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	var diffs []difference
	for _, p := range sorted {
		if l[p] != r[p] {
			diffs = append(diffs, difference{Kind: kind, Name: name, Field: p, From: l[p], To: r[p]})
		}
	}
	return diffs, nil
}

// flatten turns v into field paths and JSON leaf values: objects by key,
// lists of named objects by name (variants[primary].traffic_percent),
// other lists of objects by index, and lists of plain values whole. Null
// and empty values are left out, so unset and empty compare equal.
func flatten(v any) (map[string]string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	out := map[string]string{}
	walk("", generic, out)
	return out, nil
}

func walk(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, e := range x {
			walk(join(k), e, out)
		}
	case []any:
		if len(x) == 0 {
			return
		}
		named, plain := true, true
		for _, e := range x {
			m, ok := e.(map[string]any)
			if _, isName := m["name"].(string); !ok || !isName {
				named = false
			}
			if ok {
				plain = false
			}
			if _, isList := e.([]any); isList {
				plain = false
			}
		}
		switch {
		case named:
			for _, e := range x {
				m, _ := e.(map[string]any)
				n, _ := m["name"].(string)
				walk(prefix+"["+n+"]", m, out)
			}
		case plain:
			b, _ := json.Marshal(x)
			out[prefix] = string(b)
		default:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", prefix, i), e, out)
			}
		}
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}

// printDiff writes the differences for people, grouped by object.
func printDiff(w io.Writer, from, to string, diffs []difference) {
	if len(diffs) == 0 {
		fmt.Fprintf(w, "environments %s and %s do not differ in policy, model versions, aliases or endpoints\n", from, to)
		return
	}
	fmt.Fprintf(w, "--- %s\n+++ %s\n", from, to)
	unset := func(v string) string {
		if v == "" {
			return "(unset)"
		}
		return v
	}
	last := ""
	objects := 0
	for _, d := range diffs {
		obj := d.Kind + "/" + d.Name
		if d.Kind == api.KindEnvironment {
			obj = "environment " + d.Name
		}
		switch d.OnlyIn {
		case from:
			fmt.Fprintf(w, "- %s (only in %s)\n", obj, from)
			objects++
		case to:
			fmt.Fprintf(w, "+ %s (only in %s)\n", obj, to)
			objects++
		default:
			if obj != last {
				fmt.Fprintf(w, "~ %s\n", obj)
				objects++
			}
			fmt.Fprintf(w, "    %s: %s → %s\n", d.Field, unset(d.From), unset(d.To))
		}
		last = obj
	}
	fmt.Fprintf(w, "%d difference(s) in %d object(s)\n", len(diffs), objects)
}
