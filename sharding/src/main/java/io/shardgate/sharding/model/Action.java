package io.shardgate.sharding.model;

import io.shardgate.sharding.discovery.DiscoveredUpstreams;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a route does: forward, redirect, answer directly, or delegate to RouteTables. */
public sealed interface Action
    permits Action.Forward, Action.Redirect, Action.DirectResponse, Action.Delegate {

  /** {@code routeAction}: send to one upstream, several weighted upstreams, or an UpstreamGroup. */
  record Forward(Target target) implements Action {}

  /** The destination of a {@code routeAction}. */
  sealed interface Target permits Single, Multi, UpstreamGroupRef {}

  /** {@code single}. */
  record Single(Destination destination) implements Target {}

  /** {@code multi}: weighted destinations. */
  record Multi(List<WeightedDestination> destinations) implements Target {
    public Multi {
      destinations = List.copyOf(destinations);
    }
  }

  /** {@code upstreamGroup}: a reference to an UpstreamGroup (its namespace is not defaulted, as in Gloo). */
  record UpstreamGroupRef(ResourceRef ref) implements Target {}

  /**
   * A destination. {@code upstream} is set for {@code upstream:} destinations, {@code service} for {@code kube:}
   * destinations; {@code unsupported} names the destination type otherwise ({@code consul}). A route with such a
   * destination is {@link Route#unservable()}; an UpstreamGroup with one is rejected.
   */
  record Destination(ResourceRef upstream, ServiceDestination service, String unsupported) {
    public Destination(ResourceRef upstream, String unsupported) {
      this(upstream, null, unsupported);
    }

    public static Destination upstream(ResourceRef ref) {
      return new Destination(ref, null, null);
    }

    public static Destination service(ServiceDestination service) {
      return new Destination(null, service, null);
    }

    /**
     * The Upstream this destination sends to: the named one (its namespace defaulted to {@code namespace}), or for
     * a {@code kube} destination the Upstream discovered for that Service port in {@code writeNamespace}, as Gloo
     * names it; null when the destination type is not served.
     */
    public ResourceRef upstreamRef(String namespace, String writeNamespace) {
      if (upstream != null) {
        return upstream.withDefaultNamespace(namespace);
      }
      if (service != null) {
        String serviceNamespace = service.namespace().isEmpty() ? namespace : service.namespace();
        return new ResourceRef(
            writeNamespace, DiscoveredUpstreams.name(serviceNamespace, service.name(), service.port()));
      }
      return null;
    }
  }

  /**
   * {@code kube}: a port of a Kubernetes Service.
   *
   * @param namespace as written (empty: the namespace of the resource holding the route)
   */
  record ServiceDestination(String namespace, String name, int port) {
    /** {@code Service ns/name port P}, with the namespace defaulted to {@code defaultNamespace}. */
    public String describe(String defaultNamespace) {
      return "Service " + (namespace.isEmpty() ? defaultNamespace : namespace) + "/" + name + " port " + port;
    }
  }

  /** One weighted destination of {@code multi} or an UpstreamGroup. */
  record WeightedDestination(Destination destination, int weight) {}

  /**
   * {@code redirectAction}. {@code responseCode} is Gloo's enum name (MOVED_PERMANENTLY when unset). At most one of
   * {@code pathRedirect}, {@code prefixRewrite} and {@code regexRewrite} is set.
   */
  record Redirect(
      String hostRedirect,
      String pathRedirect,
      String prefixRewrite,
      RouteOptions.RegexRewrite regexRewrite,
      String responseCode,
      boolean httpsRedirect,
      boolean stripQuery,
      Integer portRedirect)
      implements Action {}

  /** {@code directResponseAction}. */
  record DirectResponse(int status, String body) implements Action {}

  /**
   * {@code delegateAction}: by reference (also the deprecated {@code name}/{@code namespace}) or by selector.
   *
   * @param ref the referenced RouteTable, or null when delegating by selector
   * @param selector the selector, or null when delegating by reference
   */
  record Delegate(ResourceRef ref, RouteTableSelector selector) implements Action {}

  /**
   * A RouteTable selector. Empty {@code namespaces} means the namespace of the resource holding the selector;
   * {@code *} means all. {@code labels} and {@code expressions} are mutually exclusive.
   */
  record RouteTableSelector(List<String> namespaces, Map<String, String> labels, List<LabelExpression> expressions) {
    public RouteTableSelector {
      namespaces = List.copyOf(namespaces);
      labels = new TreeMap<>(labels);
      expressions = List.copyOf(expressions);
    }
  }
}
