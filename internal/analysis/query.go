package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// queryTimeout bounds each query, on the client and on the Prometheus server.
const queryTimeout = 30 * time.Second

// ErrNoData is the reason of an SLI whose query returned no sample.
var ErrNoData = errors.New("the query returned no data")

// Querier is the part of the Prometheus HTTP API that analysis uses; promv1.API has it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Query sends each query to the Prometheus at promURL as an instant query at the time at.
// A query that returns a single-sample vector or a scalar gives its value; any other
// outcome (no data, several series, a NaN, an unreachable server) gives a nil value and
// the reason in errs.
func Query(ctx context.Context, promURL string, queries map[string]string, at time.Time) (map[string]*float64, map[string]error) {
	client, err := api.NewClient(api.Config{Address: promURL})
	if err != nil {
		values, errs := map[string]*float64{}, map[string]error{}
		for name := range queries {
			values[name], errs[name] = nil, fmt.Errorf("prometheus %q: %w", promURL, err)
		}
		return values, errs
	}
	return QueryWith(ctx, promv1.NewAPI(client), queries, at)
}

// QueryWith is Query through a given Querier.
func QueryWith(ctx context.Context, q Querier, queries map[string]string, at time.Time) (map[string]*float64, map[string]error) {
	values, errs := make(map[string]*float64, len(queries)), map[string]error{}
	for _, name := range sortedKeys(queries) {
		v, err := queryOne(ctx, q, queries[name], at)
		values[name] = v
		if err != nil {
			errs[name] = err
		}
	}
	return values, errs
}

func queryOne(ctx context.Context, q Querier, query string, at time.Time) (*float64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	res, _, _, err := q.Query(ctx, query, at, promv1.WithTimeout(queryTimeout))
	if err != nil {
		return nil, err
	}
	return sampleValue(res)
}

// sampleValue is the one value of an instant query's result.
func sampleValue(res model.Value) (*float64, error) {
	var v float64
	switch r := res.(type) {
	case *model.Scalar:
		v = float64(r.Value)
	case model.Vector:
		switch len(r) {
		case 0:
			return nil, ErrNoData
		case 1:
			v = float64(r[0].Value)
		default:
			return nil, fmt.Errorf("the query returned %d series, want one (aggregate them, e.g. with sum)", len(r))
		}
	case nil:
		return nil, ErrNoData
	default:
		return nil, fmt.Errorf("the query returned a %s, want a scalar or an instant vector", res.Type())
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("the query returned %v (a division by zero: no traffic?)", v)
	}
	return &v, nil
}
