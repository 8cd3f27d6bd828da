package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import java.util.List;

/**
 * What any config source hands to the pipeline: the documents it read, the problems it had reading them (files that
 * cannot be read or parsed), the endpoints of the Services it watches, and the Secrets that can hold TLS material (the
 * endpoints from the Kubernetes source only; Secrets from both sources). Immutable.
 *
 * <p>A source reuses the very {@link SourceDocument} and {@link ServiceEndpoints}
 * objects that did not change, so the pipeline tells by identity what changed: an input whose documents are the
 * same objects as the last one's, in the same order, changed only endpoints (or only Secrets).
 *
 * <p>{@link #secrets()} become the shards' SDS resources. A Secret-only change arrives with the very documents of the
 * last input and takes the pipeline's secret-only path, which rebuilds only the SDS resources of the shards using a
 * changed Secret. {@link #toString()} shows no Secret data ({@link KubeSecret} redacts itself).
 */
public record ConfigInput(String description, List<SourceDocument> documents, List<SourceProblem> problems,
    EndpointState endpoints, SecretState secrets) {

  public ConfigInput {
    documents = List.copyOf(documents);
    problems = List.copyOf(problems);
    endpoints = endpoints == null ? EndpointState.EMPTY : endpoints;
    secrets = secrets == null ? SecretState.EMPTY : secrets;
  }

  /** An input without Secrets. */
  public ConfigInput(String description, List<SourceDocument> documents, List<SourceProblem> problems,
      EndpointState endpoints) {
    this(description, documents, problems, endpoints, SecretState.EMPTY);
  }

  /** An input without Service endpoints (the directory source, tools and tests). */
  public ConfigInput(String description, List<SourceDocument> documents, List<SourceProblem> problems) {
    this(description, documents, problems, EndpointState.EMPTY, SecretState.EMPTY);
  }

  public static ConfigInput of(String description, DirectoryContents contents) {
    return new ConfigInput(description, contents.documents(), contents.problems(), EndpointState.EMPTY,
        contents.secretState());
  }

  public boolean hasSourceErrors() {
    return problems.stream().anyMatch(p -> p.severity() == SourceProblem.Severity.ERROR);
  }
}
