package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import java.util.List;

/**
 * What any config source hands to the pipeline: the documents it read, the problems it had reading them (files that
 * cannot be read or parsed), and the endpoints of the Services it watches (the Kubernetes source; empty for the
 * directory source). Immutable.
 *
 * <p>A source reuses the very {@link SourceDocument} and {@link ServiceEndpoints}
 * objects that did not change, so the pipeline tells by identity what changed: an input whose documents are the
 * same objects as the last one's, in the same order, changed only endpoints.
 */
public record ConfigInput(
    String description, List<SourceDocument> documents, List<SourceProblem> problems, EndpointState endpoints) {

  public ConfigInput {
    documents = List.copyOf(documents);
    problems = List.copyOf(problems);
    endpoints = endpoints == null ? EndpointState.EMPTY : endpoints;
  }

  /** An input without Service endpoints (the directory source, tools and tests). */
  public ConfigInput(String description, List<SourceDocument> documents, List<SourceProblem> problems) {
    this(description, documents, problems, EndpointState.EMPTY);
  }

  public static ConfigInput of(String description, DirectoryContents contents) {
    return new ConfigInput(description, contents.documents(), contents.problems());
  }

  public boolean hasSourceErrors() {
    return problems.stream().anyMatch(p -> p.severity() == SourceProblem.Severity.ERROR);
  }
}
