package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.KubernetesNames;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decides what a document is from its identity ({@code apiVersion}, {@code kind}, {@code metadata.name},
 * {@code metadata.namespace}) before anything else is read: a resource Shardgate reads, a document of another API
 * that is skipped, or a mistake.
 *
 * <p>A mistake is an identity that belongs to Gloo but is wrong: a Gloo group or a near miss of one
 * ({@code gatway.solo.io}) with a kind Gloo does not have, a kind that is a near miss of a Gloo kind
 * ({@code VirtualServce}, {@code virtualservice}, {@code Upstreams}), a Gloo kind with the wrong version, or a
 * resource whose name or namespace Kubernetes would refuse. Such a document must not simply vanish (its shard would
 * lose the resource without a word), so sources treat it like a file that does not parse. Kinds of other APIs
 * (Kubernetes core, Gloo kinds Shardgate does not read, enterprise Gloo kinds) are skipped.
 *
 * <p>Stage: source/decoding boundary. Pure and stateless; thread-safe.
 */
public final class DocumentIdentity {

  /** What the document is. */
  public enum Verdict {
    /** A resource Shardgate reads; {@link Result#kind()} says which. */
    RESOURCE,
    /** Not a resource Shardgate reads; reported and left out. */
    SKIPPED,
    /** A Gloo resource whose identity is wrong: an error of its file. */
    ERROR
  }

  /**
   * The verdict, the kind for {@link Verdict#RESOURCE}, and for the others the problem: {@code field} is the path
   * whose line the problem points at, {@code message} the text without location.
   */
  public record Result(Verdict verdict, Kind kind, String field, String message) {

    /** {@code origin:line: message} for {@code doc}. */
    public String describe(SourceDocument doc) {
      return doc.locationOf(field) + ": " + message;
    }
  }

  /** Gloo's own API groups: an unknown kind in one of them, or in a near miss of one, is a typo. */
  private static final List<String> GLOO_GROUPS = List.of("gateway.solo.io", "gloo.solo.io");

  /** Kinds of Gloo's groups that Shardgate does not read (yet): skipped, not errors. */
  private static final Map<String, Set<String>> UNREAD_GLOO_KINDS =
      Map.of(
          "gateway.solo.io",
          Set.of("RouteOption", "VirtualHostOption", "MatchableHttpGateway", "MatchableTcpGateway",
              "HttpListenerOption", "ListenerOption"),
          "gloo.solo.io",
          Set.of("Proxy", "Artifact", "Endpoint"));

  /**
   * The shape of another API's apiVersion: a DNS group with at least one dot and a Kubernetes version
   * ({@code networking.istio.io/v1beta1}, {@code gateway.networking.k8s.io/v1}). A Gloo kind under an apiVersion of
   * any other shape is a typo, not another API.
   */
  private static final Pattern OTHER_API_VERSION = Pattern.compile(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+/v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?");

  private static final List<Kind> READ_KINDS =
      List.of(Kind.GATEWAY, Kind.VIRTUAL_SERVICE, Kind.ROUTE_TABLE, Kind.UPSTREAM, Kind.UPSTREAM_GROUP,
          Kind.SETTINGS);

  private DocumentIdentity() {}

  /** The verdict on {@code doc}. */
  public static Result check(SourceDocument doc) {
    Map<String, Object> content = doc.content();
    Object kindValue = content.get("kind");
    Object apiValue = content.get("apiVersion");
    if (kindValue == null) {
      return new Result(Verdict.SKIPPED, null, "", "document has no 'kind'; skipped");
    }
    if (!(kindValue instanceof String kindName)) {
      return new Result(Verdict.ERROR, null, "kind", "'kind' must be a string, got " + Fields.describe(kindValue));
    }
    if (apiValue != null && !(apiValue instanceof String)) {
      return new Result(
          Verdict.ERROR, null, "apiVersion", "'apiVersion' must be a string, got " + Fields.describe(apiValue));
    }
    String apiVersion = (String) apiValue;
    String group = apiVersion == null ? null : groupOf(apiVersion);
    // The Gloo group the apiVersion is, or comes close to; for one without '/' ("gloo.solo.iov1") the whole of it.
    String glooGroup = apiVersion == null ? null
        : apiVersion.contains("/") ? nearGlooGroup(group) : nearGlooApiVersion(apiVersion);
    String shown = (apiVersion == null ? "" : Fields.excerpt(apiVersion) + " ") + Fields.excerpt(kindName);

    Kind exact = READ_KINDS.stream().filter(k -> k.kindName().equals(kindName)).findFirst().orElse(null);
    if (exact != null) {
      if (apiVersion == null || apiVersion.equals(exact.apiVersion())) {
        return metadata(doc, exact);
      }
      if (groupOf(exact.apiVersion()).equals(group)) {
        return new Result(Verdict.ERROR, null, "apiVersion", "apiVersion " + Fields.quote(apiVersion)
            + " is not a version of " + kindName + ": Gloo Edge serves it as " + exact.apiVersion());
      }
      if (glooGroup != null) {
        return new Result(Verdict.ERROR, null, "apiVersion", "apiVersion " + Fields.quote(apiVersion)
            + " is not Gloo's; did you mean " + exact.apiVersion() + "?");
      }
      if (OTHER_API_VERSION.matcher(apiVersion).matches()) {
        // Another API's kind of the same name (Istio's VirtualService, the Gateway API's Gateway).
        return skipped(shown);
      }
      // Neither Gloo's nor any API's shape ("gloo.sol", "", "v1", a date): a mangled Gloo apiVersion, and skipping
      // it would silently delete the resource.
      return new Result(Verdict.ERROR, null, "apiVersion", "apiVersion " + Fields.quote(apiVersion)
          + " is neither Gloo's nor another API's group/version; " + kindName + " is served as " + exact.apiVersion());
    }
    if (kindName.equals(Kind.PROXY.kindName()) && (apiVersion == null || apiVersion.equals(Kind.PROXY.apiVersion()))) {
      return new Result(Verdict.SKIPPED, null, "", "Proxy resources are generated by Shardgate; skipped");
    }
    if (glooGroup != null) {
      if (group.equals(glooGroup) && UNREAD_GLOO_KINDS.get(glooGroup).contains(kindName)) {
        return new Result(
            Verdict.SKIPPED, null, "", shown + " is a Gloo resource Shardgate does not read yet; skipped");
      }
      Kind near = nearKind(kindName);
      String suggestion = near != null ? "; did you mean " + near.apiVersion() + " " + near.kindName() + "?"
          : " (Gloo's kinds that Shardgate reads: Gateway, VirtualService, RouteTable in gateway.solo.io/v1;"
              + " Upstream, UpstreamGroup, Settings in gloo.solo.io/v1)";
      if (!group.equals(glooGroup) && near == null) {
        suggestion = "; did you mean the group " + glooGroup + "?";
      }
      return new Result(Verdict.ERROR, null, "kind", shown + " is not a Gloo kind" + suggestion);
    }
    Kind near = nearKind(kindName);
    if (near != null) {
      return new Result(Verdict.ERROR, null, "kind", "kind " + Fields.quote(kindName) + " is not a Gloo kind; did you"
          + " mean " + near.apiVersion() + " " + near.kindName() + "?");
    }
    return skipped(shown);
  }

  private static Result skipped(String shown) {
    return new Result(Verdict.SKIPPED, null, "", shown + " is not a resource Shardgate reads (Gateway, VirtualService,"
        + " RouteTable, Upstream, UpstreamGroup, Settings); skipped");
  }

  /** A read kind whose name is a near miss of {@code kindName}: case, a plural 's', or up to two edits. */
  private static Kind nearKind(String kindName) {
    String folded = GlooApi.folded(kindName);
    Kind best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (Kind k : READ_KINDS) {
      String target = k.kindName().toLowerCase(Locale.ROOT);
      int d = folded.equals(target + "s") ? 0 : EditDistance.between(folded, target);
      int allowed = target.length() <= 5 ? 1 : 2;
      if (d <= allowed && d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    return best;
  }

  /** The Gloo group {@code group} is, or is a near miss of (up to two edits); null when it is neither. */
  private static String nearGlooGroup(String group) {
    if (group == null) {
      return null;
    }
    String g = group.toLowerCase(Locale.ROOT);
    for (String glooGroup : GLOO_GROUPS) {
      if (g.equals(glooGroup)) {
        return glooGroup;
      }
    }
    for (String glooGroup : GLOO_GROUPS) {
      if (EditDistance.between(g, glooGroup) <= 2) {
        return glooGroup;
      }
    }
    return null;
  }

  /** The group of the Gloo apiVersion that {@code apiVersion} (written without a '/') is a near miss of, or null. */
  private static String nearGlooApiVersion(String apiVersion) {
    String v = apiVersion.toLowerCase(Locale.ROOT);
    for (String glooGroup : GLOO_GROUPS) {
      if (EditDistance.between(v, glooGroup + "/v1") <= 2) {
        return glooGroup;
      }
    }
    return null;
  }

  private static String groupOf(String apiVersion) {
    int slash = apiVersion.indexOf('/');
    return slash < 0 ? "" : apiVersion.substring(0, slash);
  }

  /** A read kind's metadata: a mapping with a valid name and, when written, a valid namespace. */
  private static Result metadata(SourceDocument doc, Kind kind) {
    Object meta = doc.content().get("metadata");
    if (meta == null) {
      return new Result(Verdict.ERROR, null, "", kind.kindName() + " has no metadata: it needs metadata.name");
    }
    if (!(meta instanceof Map<?, ?> m)) {
      return new Result(Verdict.ERROR, null, "metadata", "metadata must be a mapping, got " + Fields.describe(meta));
    }
    Object name = m.get("name");
    if (name == null) {
      return new Result(Verdict.ERROR, null, "metadata", kind.kindName() + " has no metadata.name");
    }
    if (!(name instanceof String n)) {
      return new Result(
          Verdict.ERROR, null, "metadata.name", "metadata.name must be a string, got " + Fields.describe(name));
    }
    String problem = KubernetesNames.objectNameProblem(n);
    if (problem != null) {
      return new Result(Verdict.ERROR, null, "metadata.name", "metadata.name " + (n.isEmpty() ? "" : Fields.quote(n)
          + " ") + problem);
    }
    Object namespace = m.get("namespace");
    if (namespace != null) {
      if (!(namespace instanceof String ns)) {
        return new Result(Verdict.ERROR, null, "metadata.namespace",
            "metadata.namespace must be a string, got " + Fields.describe(namespace));
      }
      problem = KubernetesNames.namespaceProblem(ns);
      if (problem != null) {
        return new Result(Verdict.ERROR, null, "metadata.namespace", "metadata.namespace "
            + (ns.isEmpty() ? "" : Fields.quote(ns) + " ") + problem + " (leave it out for 'default')");
      }
    }
    return new Result(Verdict.RESOURCE, kind, "", null);
  }
}
