package io.shardgate.controlplane.status;

import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders the status each Gloo object read from the Kubernetes API server should carry, in Gloo's namespaced shape:
 * {@code status.statuses.<writeNamespace>} = {state, reason, reportedBy, subresourceStatuses (one per Proxy that
 * uses the resource, keyed {@code *v1.Proxy.<proxy>_<writeNamespace>} as Gloo keys them)}, plus a top-level
 * {@code status.state} and {@code status.proxies} that the CRDs' printer columns read.
 *
 * <p>Only resources read from the API server get a status: their origin is {@code Kind namespace/name@rv}. The
 * Upstreams discovered from Services (origin {@code Service ns/name@rv}) and files have no object to write to.
 * A reason is bounded: at most {@value #MAX_MESSAGES} messages, then how many more there are and where to read them,
 * and never more than {@value #MAX_REASON_BYTES} bytes; a VirtualService in conflict with hundreds of others gets a
 * summary, not one line per claimant. An Envoy's NACK of the xDS a resource produced rejects that resource.
 *
 * <p>Stage: status. Pure: a function of the translation and the rejections; stateless and thread-safe. Output is
 * deterministic (sorted keys, insertion-ordered fields).
 */
public final class StatusTranslator {

  /** Messages shown in full in one reason; the rest are counted. */
  public static final int MAX_MESSAGES = 5;
  /** Hard cap on one reason, in UTF-8 bytes (an etcd object is at most 1.5 MB; hundreds of statuses share a list). */
  public static final int MAX_REASON_BYTES = 4096;
  /** Where the whole list of problems is always available. */
  public static final String ELSEWHERE = "GET /api/status lists them all";

  private static final Pattern API_ORIGIN = Pattern.compile("^(\\w+) ([^/\\s]+)/([^@\\s]+)@([^\\s:]+)(:\\d+)?$");

  /**
   * The status one object should have.
   *
   * @param key the object's kind, namespace and name
   * @param resourceVersion the resourceVersion of the object the translation read (from its origin)
   * @param status the whole {@code status} block to write, as plain maps, lists and strings
   */
  public record ObjectStatus(ResourceKey key, String resourceVersion, Map<String, Object> status) {
    public ObjectStatus {
      status = Collections.unmodifiableMap(status);
    }
  }

  /** Who reports on a kind, as Gloo's two reporters sign their statuses. */
  public static String reportedBy(Kind kind) {
    return kind.apiVersion().startsWith("gateway.") ? "gateway" : "gloo";
  }

  /** The key under which Gloo puts a Proxy's status in {@code subresourceStatuses}. */
  public static String proxySubresourceKey(String proxyName, String writeNamespace) {
    return "*v1.Proxy." + proxyName + "_" + writeNamespace;
  }

  /** The resourceVersion of an origin of the form {@code Kind ns/name@rv} naming {@code key}, if it is one. */
  public static Optional<String> apiResourceVersion(ResourceKey key, String origin) {
    Matcher m = API_ORIGIN.matcher(origin == null ? "" : origin);
    if (!m.matches() || !m.group(1).equals(key.kind().kindName()) || !m.group(2).equals(key.namespace())
        || !m.group(3).equals(key.name())) {
      return Optional.empty();
    }
    return Optional.of(m.group(4));
  }

  /** The status of every object of the translation that lives on the API server, by key. */
  public SortedMap<ResourceKey, ObjectStatus> render(Translation t, List<EnvoyRejections.Rejection> rejections) {
    String writeNamespace = t.gateway().writeNamespace();
    SortedMap<ResourceKey, List<String>> nackErrors = new TreeMap<>();
    SortedMap<String, List<String>> nackedProxies = new TreeMap<>();
    for (EnvoyRejections.Rejection r : rejections) {
      if (!r.current()) {
        continue;
      }
      for (ResourceKey key : r.resources()) {
        nackErrors.computeIfAbsent(key, k -> new ArrayList<>()).add(r.errorMessage());
      }
      nackedProxies.computeIfAbsent(r.role().substring(r.role().indexOf('~') + 1), k -> new ArrayList<>())
          .add(r.errorMessage());
    }
    Map<String, ResourceStatus> proxyStatuses = new TreeMap<>();
    for (ResourceStatus s : t.gateway().statuses().values()) {
      if (s.key().kind() == Kind.PROXY) {
        proxyStatuses.put(s.key().name(), s);
      }
    }
    SortedMap<ResourceKey, ObjectStatus> out = new TreeMap<>();
    for (ResourceStatus s : t.gateway().statuses().values()) {
      if (s.key().kind() == Kind.PROXY || s.key().kind() == Kind.SECRET) {
        // Proxies are written, when at all, by the Proxy writer; neither they nor Secrets have a status subresource
        continue;
      }
      Optional<String> rv = apiResourceVersion(s.key(), s.origin());
      if (rv.isEmpty()) {
        continue;
      }
      List<String> errors = new ArrayList<>(s.errors());
      errors.addAll(nackErrors.getOrDefault(s.key(), List.of()));
      ResourceState state = !errors.isEmpty() ? ResourceState.REJECTED
          : !s.warnings().isEmpty() ? ResourceState.WARNING : s.state();
      Map<String, Object> namespaced = new LinkedHashMap<>();
      namespaced.put("state", Trees.stateName(state));
      String reason = reason(errors, s.warnings());
      if (!reason.isEmpty()) {
        namespaced.put("reason", reason);
      }
      namespaced.put("reportedBy", reportedBy(s.key().kind()));
      Map<String, Object> subresources = new TreeMap<>();
      for (String proxy : s.proxies()) {
        subresources.put(proxySubresourceKey(proxy, writeNamespace),
            proxyStatus(proxyStatuses.get(proxy), nackedProxies.getOrDefault(proxy, List.of())));
      }
      if (!subresources.isEmpty()) {
        namespaced.put("subresourceStatuses", subresources);
      }
      Map<String, Object> status = new LinkedHashMap<>();
      status.put("state", Trees.stateName(state));
      if (!s.proxies().isEmpty()) {
        status.put("proxies", List.copyOf(s.proxies()));
      }
      status.put("statuses", Map.of(writeNamespace, namespaced));
      out.put(s.key(), new ObjectStatus(s.key(), rv.get(), status));
    }
    return Collections.unmodifiableSortedMap(out);
  }

  /** A Proxy's own status as a subresource status: what Gloo's translator reported for it, NACKs included. */
  private static Map<String, Object> proxyStatus(ResourceStatus proxy, List<String> nacks) {
    List<String> errors = new ArrayList<>(proxy == null ? List.of() : proxy.errors());
    errors.addAll(nacks);
    List<String> warnings = proxy == null ? List.of() : proxy.warnings();
    ResourceState state = !errors.isEmpty() ? ResourceState.REJECTED
        : !warnings.isEmpty() ? ResourceState.WARNING : ResourceState.ACCEPTED;
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("state", Trees.stateName(state));
    String reason = reason(errors, warnings);
    if (!reason.isEmpty()) {
      out.put("reason", reason);
    }
    out.put("reportedBy", "gloo");
    return out;
  }

  /**
   * The errors, then the warnings (prefixed {@code warning: }), joined by {@code "; "} as ResourceStatus joins them;
   * bounded to {@link #MAX_MESSAGES} messages and {@link #MAX_REASON_BYTES} bytes.
   */
  static String reason(List<String> errors, List<String> warnings) {
    List<String> messages = new ArrayList<>(errors.size() + warnings.size());
    messages.addAll(errors);
    for (int i = 0; i < warnings.size(); i++) {
      messages.add(i == 0 ? "warning: " + warnings.get(i) : warnings.get(i));
    }
    if (messages.isEmpty()) {
      return "";
    }
    int shown = Math.min(messages.size(), MAX_MESSAGES);
    StringBuilder reason = new StringBuilder(String.join("; ", messages.subList(0, shown)));
    if (utf8Length(reason) <= MAX_REASON_BYTES && shown == messages.size()) {
      return reason.toString();
    }
    // Keep whole messages while they fit with room for the summary; a single huge message is cut.
    while (shown > 1 && utf8Length(String.join("; ", messages.subList(0, shown))) > MAX_REASON_BYTES - 100) {
      shown--;
    }
    String head = String.join("; ", messages.subList(0, shown));
    int more = messages.size() - shown;
    String tail = more > 0 ? "; ... and " + more + " more (" + ELSEWHERE + ")" : " ... (" + ELSEWHERE + ")";
    head = cut(head, MAX_REASON_BYTES - utf8Length(tail));
    return head + tail;
  }

  private static int utf8Length(CharSequence s) {
    return s.toString().getBytes(StandardCharsets.UTF_8).length;
  }

  /** The longest prefix of {@code s} of at most {@code bytes} UTF-8 bytes that does not split a character. */
  private static String cut(String s, int bytes) {
    if (utf8Length(s) <= bytes) {
      return s;
    }
    int n = 0;
    int i = 0;
    while (i < s.length()) {
      int cp = s.codePointAt(i);
      int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
      if (n + len > bytes) {
        break;
      }
      n += len;
      i += Character.charCount(cp);
    }
    return s.substring(0, i);
  }
}
