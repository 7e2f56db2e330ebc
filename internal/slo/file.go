// Package slo reads service-level objectives in Keptn's slo.yaml format and evaluates SLI
// values against them exactly as Keptn v1's lighthouse service does
// (docs/keptn-slo-semantics.md), so an slo.yaml written for Keptn gives the same verdict here.
package slo

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"
)

// Values of Comparison.CompareWith, Comparison.IncludeResultWithScore and Objective.Status.
const (
	CompareSingle  = "single_result"
	CompareSeveral = "several_results"

	IncludeAll        = "all"
	IncludePass       = "pass"
	IncludePassOrWarn = "pass_or_warn"

	StatusPass    = "pass"
	StatusWarning = "warning"
	StatusFail    = "fail"
	StatusInfo    = "info"
)

// File is a parsed slo.yaml with Keptn's defaults filled in.
type File struct {
	// SpecVersion is kept for the reader; Keptn does not act on it either.
	SpecVersion string `yaml:"spec_version"`
	// Filter is accepted because Keptn's files carry it; it selects SLI data, not verdicts.
	Filter map[string]string `yaml:"filter"`
	// Comparison says which earlier results relative criteria are measured against.
	Comparison Comparison `yaml:"-"`
	// Objectives are evaluated in file order.
	Objectives []ObjectiveSpec `yaml:"objectives"`
	// TotalScore holds the score thresholds, as written ("90%").
	TotalScore TotalScore `yaml:"total_score"`
}

// Comparison selects and aggregates earlier evaluations.
type Comparison struct {
	// CompareWith is single_result, several_results, or anything else (then 3 results count).
	CompareWith string `yaml:"compare_with"`
	// IncludeResultWithScore filters earlier evaluations on their overall result.
	IncludeResultWithScore string `yaml:"include_result_with_score"`
	// NumberOfComparisonResults is how many evaluations count with several_results.
	NumberOfComparisonResults int `yaml:"number_of_comparison_results"`
	// AggregateFunction is avg, p50, p90 or p95; any other name aggregates to 0, as in Keptn.
	AggregateFunction string `yaml:"aggregate_function"`
}

// ObjectiveSpec is one entry of objectives.
type ObjectiveSpec struct {
	// SLI names the indicator whose value is judged.
	SLI string `yaml:"sli"`
	// DisplayName is shown instead of the SLI name when set.
	DisplayName string `yaml:"displayName"`
	// Pass entries are OR-ed; without any the objective is informational.
	Pass []Criteria `yaml:"pass"`
	// Warning entries are OR-ed and looked at only when Pass does not hold.
	Warning []Criteria `yaml:"warning"`
	// Weight is the objective's share of the score; 0 or missing means 1.
	Weight int `yaml:"weight"`
	// KeySLI makes the whole evaluation fail when this objective fails.
	KeySLI bool `yaml:"key_sli"`
}

// Criteria is one entry of pass or warning: every criterion in it must hold.
type Criteria struct {
	Criteria []string `yaml:"criteria"`
}

// TotalScore holds the thresholds on the score in percent, as strings with an optional "%".
type TotalScore struct {
	Pass    string `yaml:"pass"`
	Warning string `yaml:"warning"`
}

// rawFile is File as written, so an absent comparison can be told from an empty one.
type rawFile struct {
	File       `yaml:",inline"`
	Comparison *Comparison `yaml:"comparison"`
}

// Parse reads an slo.yaml. It rejects unknown keys, wrong types and values no Keptn file
// could mean (negative weights or counts); criteria and thresholds are checked when
// evaluated, because Keptn gives an unparsable one a defined verdict.
func Parse(data []byte) (*File, error) {
	var raw rawFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the SLO file is empty")
		}
		return nil, fmt.Errorf("parsing the SLO file: %w", err)
	}
	f := raw.File
	f.Comparison = comparisonDefaults(raw.Comparison)
	if f.Comparison.NumberOfComparisonResults < 0 {
		return nil, fmt.Errorf("comparison.number_of_comparison_results: %d is negative", f.Comparison.NumberOfComparisonResults)
	}
	for i := range f.Objectives {
		o := &f.Objectives[i]
		if o.SLI == "" {
			return nil, fmt.Errorf("objectives[%d].sli: required", i)
		}
		if o.Weight < 0 {
			return nil, fmt.Errorf("objectives[%d].weight: %d is negative", i, o.Weight)
		}
		if o.Weight == 0 {
			o.Weight = 1
		}
	}
	return &f, nil
}

// comparisonDefaults fills in Keptn's defaults. They differ on purpose between a missing
// block and a present one: Keptn's code uses 3 results there although its spec says 1.
func comparisonDefaults(c *Comparison) Comparison {
	if c == nil {
		return Comparison{CompareWith: CompareSingle, IncludeResultWithScore: IncludeAll,
			NumberOfComparisonResults: 1, AggregateFunction: "avg"}
	}
	out := *c
	if out.IncludeResultWithScore == "" {
		out.IncludeResultWithScore = IncludeAll
	}
	if out.NumberOfComparisonResults == 0 {
		out.NumberOfComparisonResults = 3
	}
	if out.AggregateFunction == "" {
		out.AggregateFunction = "avg"
	}
	return out
}
