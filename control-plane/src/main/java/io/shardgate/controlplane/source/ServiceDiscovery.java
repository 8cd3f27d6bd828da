package io.shardgate.controlplane.source;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.DiscoveredUpstreams;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Kubernetes discovery at the source edge: a Service's TCP ports become the Upstream documents Gloo's discovery would
 * write, and a Service's EndpointSlices (with the labels of their Pods) become its {@link ServiceEndpoints}.
 *
 * <p>Stage: source (the translation part of it). Pure functions of immutable views; the views keep only what these
 * functions read, so the source holds no whole Service, EndpointSlice or Pod beyond the informers' own caches.
 *
 * <p>Which Services: every Service the source watches, as Gloo's Kubernetes discovery (its {@code uds} plugin) does:
 * it skips no namespace ({@code kube-system} and {@code kube-public} are skipped by Gloo's function discovery only)
 * and no Service type (an ExternalName Service gets Upstreams, which have no endpoints since no EndpointSlice lists
 * them); the {@code gloo.solo.io/discover: "true"} annotation only overrides Gloo's list of ignored Services, which
 * nothing sets, so it changes nothing here either. Unlike Gloo, only TCP ports (protocol unset or {@code TCP}) are
 * discovered: Envoy serves no UDP or SCTP port through an HTTP route, and Gloo's UDP twin of a TCP port (DNS on 53)
 * would get the very same Upstream name.
 */
public final class ServiceDiscovery {

  /** The label of an EndpointSlice that names its Service. */
  public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  private static final String TCP = "TCP";

  private ServiceDiscovery() {}

  /** One port of a Service: its name (empty when unnamed), number and protocol. */
  public record PortView(String name, int port, String protocol) {
    public PortView {
      name = name == null ? "" : name;
      protocol = protocol == null || protocol.isEmpty() ? TCP : protocol;
    }

    boolean tcp() {
      return TCP.equals(protocol);
    }
  }

  /** What discovery reads of a Service. */
  public record ServiceView(String namespace, String name, String resourceVersion,
      SortedMap<String, String> labels, SortedMap<String, String> selector, List<PortView> ports) {

    public ServiceView {
      labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels));
      selector = Collections.unmodifiableSortedMap(new TreeMap<>(selector));
      ports = List.copyOf(ports);
    }

    /** {@code namespace/name}. */
    public String key() {
      return ServiceEndpoints.key(namespace, name);
    }

    /** The view of a Service object. */
    public static ServiceView of(Service service) {
      ObjectMeta meta = service.getMetadata();
      List<PortView> ports = new ArrayList<>();
      Map<String, String> selector = Map.of();
      if (service.getSpec() != null) {
        if (service.getSpec().getPorts() != null) {
          for (ServicePort p : service.getSpec().getPorts()) {
            if (p.getPort() != null) {
              ports.add(new PortView(p.getName(), p.getPort(), p.getProtocol()));
            }
          }
        }
        if (service.getSpec().getSelector() != null) {
          selector = service.getSpec().getSelector();
        }
      }
      return new ServiceView(meta.getNamespace(), meta.getName(), meta.getResourceVersion(),
          new TreeMap<>(meta.getLabels() == null ? Map.of() : meta.getLabels()), new TreeMap<>(selector), ports);
    }
  }

  /**
   * One endpoint of a slice, reduced to what an Envoy is told.
   *
   * @param health READY or DRAINING; endpoints that are neither are not kept
   * @param pod {@code namespace/name} of the Pod behind it, or null
   */
  public record EndpointView(String address, KubeEndpoint.Health health, String pod, String zone) {}

  /** One port of a slice. */
  public record SlicePortView(String name, int port, String protocol) {
    public SlicePortView {
      name = name == null ? "" : name;
      protocol = protocol == null || protocol.isEmpty() ? TCP : protocol;
    }
  }

  /**
   * What discovery reads of an EndpointSlice.
   *
   * @param service {@code namespace/name} of its Service (the {@value #SERVICE_NAME_LABEL} label), or null
   */
  public record SliceView(String namespace, String name, String resourceVersion, String service,
      List<SlicePortView> ports, List<EndpointView> endpoints) {

    public SliceView {
      ports = List.copyOf(ports);
      endpoints = List.copyOf(endpoints);
    }

    /** The view of a slice; FQDN slices (deprecated, no address Envoy could dial as is) list no endpoint. */
    public static SliceView of(EndpointSlice slice) {
      ObjectMeta meta = slice.getMetadata();
      String serviceName = meta.getLabels() == null ? null : meta.getLabels().get(SERVICE_NAME_LABEL);
      String service = serviceName == null ? null : ServiceEndpoints.key(meta.getNamespace(), serviceName);
      List<SlicePortView> ports = new ArrayList<>();
      if (slice.getPorts() != null) {
        for (EndpointPort p : slice.getPorts()) {
          if (p.getPort() != null) {
            ports.add(new SlicePortView(p.getName(), p.getPort(), p.getProtocol()));
          }
        }
      }
      List<EndpointView> endpoints = new ArrayList<>();
      boolean ip = "IPv4".equals(slice.getAddressType()) || "IPv6".equals(slice.getAddressType());
      if (ip && slice.getEndpoints() != null) {
        for (Endpoint e : slice.getEndpoints()) {
          KubeEndpoint.Health health = health(e.getConditions());
          if (health == null || e.getAddresses() == null || e.getAddresses().isEmpty()) {
            continue;
          }
          ObjectReference ref = e.getTargetRef();
          String pod = ref != null && "Pod".equals(ref.getKind()) && ref.getName() != null
              ? ServiceEndpoints.key(ref.getNamespace() != null ? ref.getNamespace() : meta.getNamespace(),
                  ref.getName())
              : null;
          endpoints.add(new EndpointView(e.getAddresses().get(0), health, pod, e.getZone()));
        }
      }
      return new SliceView(meta.getNamespace(), meta.getName(), meta.getResourceVersion(), service, ports,
          endpoints);
    }
  }

  /**
   * Kubernetes' endpoint conditions as Envoy health: ready (unset counts as ready) takes traffic; serving and
   * terminating drains; anything else is left out.
   */
  static KubeEndpoint.Health health(EndpointConditions c) {
    Boolean ready = c == null ? null : c.getReady();
    if (ready == null || ready) {
      return KubeEndpoint.Health.READY;
    }
    boolean serving = Boolean.TRUE.equals(c.getServing());
    boolean terminating = Boolean.TRUE.equals(c.getTerminating());
    return serving && terminating ? KubeEndpoint.Health.DRAINING : null;
  }

  /**
   * The Upstream documents discovered for a Service, one per TCP port, in port order. A document whose content equals
   * one in {@code previous} is that very object (its origin names the resourceVersion that first produced it), so an
   * unchanged port stays unchanged for the decode cache.
   */
  public static List<SourceDocument> upstreamDocuments(ServiceView service, String discoveryNamespace,
      List<SourceDocument> previous) {
    Map<Object, SourceDocument> reusable = new LinkedHashMap<>();
    for (SourceDocument d : previous) {
      reusable.put(d.content(), d);
    }
    List<SourceDocument> out = new ArrayList<>();
    for (PortView port : service.ports()) {
      if (!port.tcp()) {
        continue;
      }
      Map<String, Object> content = upstreamContent(service, port, discoveryNamespace);
      SourceDocument before = reusable.get(content);
      out.add(before != null ? before : new SourceDocument(
          "Service " + service.key() + "@" + service.resourceVersion(), 0, content, Map.of()));
    }
    return List.copyOf(out);
  }

  private static Map<String, Object> upstreamContent(ServiceView service, PortView port, String namespace) {
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("name", DiscoveredUpstreams.name(service.namespace(), service.name(), port.port()));
    metadata.put("namespace", namespace);
    metadata.put("labels", Map.of(DiscoveredUpstreams.DISCOVERED_BY, DiscoveredUpstreams.KUBERNETES_PLUGIN));
    Map<String, Object> kube = new LinkedHashMap<>();
    kube.put("serviceName", service.name());
    kube.put("serviceNamespace", service.namespace());
    kube.put("servicePort", (long) port.port());
    if (!service.selector().isEmpty()) {
      kube.put("selector", new LinkedHashMap<>(service.selector()));
    }
    Map<String, Object> spec = new LinkedHashMap<>();
    if (!service.labels().isEmpty()) {
      spec.put("discoveryMetadata", Map.of("labels", new LinkedHashMap<>(service.labels())));
    }
    spec.put("kube", kube);
    Map<String, Object> content = new LinkedHashMap<>();
    content.put("apiVersion", "gloo.solo.io/v1");
    content.put("kind", "Upstream");
    content.put("metadata", metadata);
    content.put("spec", spec);
    return content;
  }

  /**
   * A Service's endpoints from its slices. With no slice at all the Service has no ports; otherwise each TCP Service
   * port has a list, matched to slice ports by name as Kubernetes does (an unnamed port matches the unnamed slice
   * port) and protocol. An address listed twice (two slices during a change) is kept once, ready before draining.
   *
   * @param podLabels the labels of a Pod ({@code namespace/name}), or null when the Pod is not known
   */
  public static ServiceEndpoints endpoints(ServiceView service, Collection<SliceView> slices,
      Function<String, SortedMap<String, String>> podLabels) {
    Map<Integer, List<KubeEndpoint>> byPort = new TreeMap<>();
    if (!slices.isEmpty()) {
      for (PortView port : service.ports()) {
        if (!port.tcp()) {
          continue;
        }
        Map<String, KubeEndpoint> unique = new TreeMap<>();
        for (SliceView slice : slices) {
          for (SlicePortView sp : slice.ports()) {
            if (!sp.name().equals(port.name()) || !sp.protocol().equals(port.protocol())) {
              continue;
            }
            for (EndpointView e : slice.endpoints()) {
              SortedMap<String, String> labels = e.pod() == null ? null : podLabels.apply(e.pod());
              KubeEndpoint ep = new KubeEndpoint(e.address(), sp.port(), e.health(), labels, e.zone());
              unique.merge(e.address() + " " + sp.port(), ep,
                  (a, b) -> a.health() == KubeEndpoint.Health.READY ? a : b);
            }
          }
        }
        byPort.put(port.port(), new ArrayList<>(unique.values()));
      }
    }
    return new ServiceEndpoints(service.namespace(), service.name(), byPort);
  }

  /** Whether two views describe the same endpoints (resourceVersions aside). */
  static boolean sameEndpoints(SliceView a, SliceView b) {
    return a != null && b != null && Objects.equals(a.service(), b.service()) && a.ports().equals(b.ports())
        && a.endpoints().equals(b.endpoints());
  }
}
