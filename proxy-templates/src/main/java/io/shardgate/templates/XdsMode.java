package io.shardgate.templates;

/**
 * Which ADS protocol variant a gateway-proxy shard's Envoy speaks to the control plane.
 *
 * <p>Stage: bootstrap rendering. Immutable; thread-safe.
 */
public enum XdsMode {
  /** State of the world: every response carries all resources of a type ({@code api_type: GRPC}). */
  SOTW("GRPC"),
  /** Incremental: responses carry only added, changed and removed resources ({@code api_type: DELTA_GRPC}). */
  DELTA("DELTA_GRPC");

  private final String adsApiType;

  XdsMode(String adsApiType) {
    this.adsApiType = adsApiType;
  }

  /** The value of Envoy's {@code dynamic_resources.ads_config.api_type} for this mode. */
  public String adsApiType() {
    return adsApiType;
  }
}
