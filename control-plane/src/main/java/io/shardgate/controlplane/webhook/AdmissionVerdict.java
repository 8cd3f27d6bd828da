package io.shardgate.controlplane.webhook;

import java.util.List;

/**
 * The validator's answer to one admission request. Immutable.
 *
 * @param allowed whether the API server may go on with the change
 * @param message why not (one line per problem: {@code Kind namespace/name: problem}); empty when allowed
 * @param warnings what the client is shown either way ({@code kubectl} prints each as {@code Warning: ...})
 * @param result what happened, for metrics and logs: {@link #ADMITTED}, {@link #REFUSED}, {@link #SKIPPED},
 *     {@link #NOT_READY} or {@link #ERROR}
 * @param shards the shards (node roles) the change reaches, as the dry run found them: those using the object and
 *     those whose served configuration it changes; empty when none (or not translated)
 */
public record AdmissionVerdict(boolean allowed, String message, List<String> warnings, String result,
    List<String> shards) {

  public static final String ADMITTED = "admitted";
  public static final String REFUSED = "refused";
  public static final String SKIPPED = "skipped";
  public static final String NOT_READY = "not_ready";
  public static final String ERROR = "error";

  public AdmissionVerdict {
    message = message == null ? "" : message;
    warnings = List.copyOf(warnings);
    shards = List.copyOf(shards);
  }

  static AdmissionVerdict skipped(String why) {
    return new AdmissionVerdict(true, "", List.of(), SKIPPED, List.of()).withNote(why);
  }

  /** This verdict with no warning but a note for the log (skips say why they skipped; nothing reaches the client). */
  private AdmissionVerdict withNote(String why) {
    return new AdmissionVerdict(allowed, why, warnings, result, shards);
  }
}
