package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.sharding.decode.SourceDocument;
import java.util.List;

/**
 * What any config source hands to the pipeline: the documents it read and the problems it had reading them
 * (files that cannot be read or parsed). Immutable.
 */
public record ConfigInput(String description, List<SourceDocument> documents, List<SourceProblem> problems) {

  public ConfigInput {
    documents = List.copyOf(documents);
    problems = List.copyOf(problems);
  }

  public static ConfigInput of(String description, DirectoryContents contents) {
    return new ConfigInput(description, contents.documents(), contents.problems());
  }

  public boolean hasSourceErrors() {
    return problems.stream().anyMatch(p -> p.severity() == SourceProblem.Severity.ERROR);
  }
}
