/**
 * Metrics of the control plane: {@link io.shardgate.controlplane.metrics.ShardgateMetrics} binds the pipeline's
 * {@link io.shardgate.controlplane.pipeline.PipelineObserver} events, the xDS streams'
 * {@link io.shardgate.snapshot.ShardStreamListener} events and the directory source's counters to Micrometer. The
 * admin API serves them in the Prometheus text format at {@code GET /metrics}; {@code docs/metrics.md} documents
 * every metric.
 */
package io.shardgate.controlplane.metrics;
