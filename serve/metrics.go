package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (several servers in one process, tests among them, do not collide).
// The task label is the name of a loaded task, or "" when the request named
// none that is loaded (so that unknown names cannot grow the series).
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // petl_requests_total{task,code}
	duration  *prometheus.HistogramVec // petl_request_duration_seconds{task}
	inputs    *prometheus.CounterVec   // petl_inputs_total{task}
	batchReqs prometheus.Histogram     // petl_batch_requests
	batchToks prometheus.Histogram     // petl_batch_tokens
	queue     prometheus.Gauge         // petl_queue_depth
	skipped   prometheus.Counter       // petl_skipped_inputs_total
	reloads   *prometheus.CounterVec   // petl_reloads_total{result}
	tasks     prometheus.GaugeFunc     // petl_tasks
}

func newMetrics(tasks func() float64) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "petl_requests_total",
		Help: "Predict requests answered, by task and HTTP status code (499: the client went away first).",
	}, []string{"task", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "petl_request_duration_seconds",
		Help:    "Time from a predict request's arrival to its answer, by task.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms to 16 s
	}, []string{"task"})
	m.inputs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "petl_inputs_total",
		Help: "Inputs (texts or pairs) predicted, by task.",
	}, []string{"task"})
	m.batchReqs = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "petl_batch_requests",
		Help:    "Inputs (sequences, of any tasks) per forward pass.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 to 512
	})
	m.batchToks = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "petl_batch_tokens",
		Help:    "Wordpieces per forward pass ([CLS] and [SEP] included, no padding).",
		Buckets: prometheus.ExponentialBuckets(16, 2, 11), // 16 to 16384
	})
	m.queue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "petl_queue_depth",
		Help: "Inputs waiting for a forward pass.",
	})
	m.skipped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "petl_skipped_inputs_total",
		Help: "Queued inputs dropped without running because their client went away.",
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "petl_reloads_total",
		Help: "Reloads of the adapters directory, by result (ok, error).",
	}, []string{"result"})
	m.tasks = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "petl_tasks",
		Help: "Tasks loaded.",
	}, tasks)
	m.reg.MustRegister(m.requests, m.duration, m.inputs, m.batchReqs, m.batchToks, m.queue, m.skipped, m.reloads, m.tasks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
