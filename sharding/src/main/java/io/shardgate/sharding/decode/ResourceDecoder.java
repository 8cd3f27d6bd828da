package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Action.Destination;
import io.shardgate.sharding.model.Action.WeightedDestination;
import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.LabelExpression;
import io.shardgate.sharding.model.Matcher;
import io.shardgate.sharding.model.ObjectMeta;
import io.shardgate.sharding.model.Resource;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.Route;
import io.shardgate.sharding.model.RouteOptions;
import io.shardgate.sharding.model.RouteTable;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.Reports;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes Gloo Edge v1 documents (Kubernetes form) into the typed resource model.
 *
 * <p>Stage: decoding, between a source and gateway translation. Pure: the result depends only on the documents
 * (their order included only through the origin-sorted tie-break for duplicates). Stateless and thread-safe.
 *
 * <p>Rules: a field Shardgate does not implement is a warning on its resource; a field of the wrong type or with
 * an invalid value is an error that rejects the resource (it is left out of the snapshot, so nothing partial is
 * ever served); documents of other kinds are reported and skipped. Every message names the field path and its
 * file:line.
 */
public final class ResourceDecoder {

  private ResourceDecoder() {}

  /** Decodes {@code documents}; never throws for bad input. */
  public static DecodedResources decode(List<SourceDocument> documents) {
    return decode(documents, ResourceDecoder::decodeDocument);
  }

  /**
   * Decodes {@code documents}, each through {@code perDocument}: {@link #decodeDocument} itself, or a cache of it
   * (a document's decoding depends on that document alone, so a source that hands over the same, unchanged
   * document objects again need not decode them again).
   */
  public static DecodedResources decode(
      List<SourceDocument> documents, java.util.function.Function<SourceDocument, DecodedDocument> perDocument) {
    Reports reports = new Reports();
    List<String> documentProblems = new ArrayList<>();
    // Sorting by origin first makes "which duplicate wins" independent of delivery order.
    List<SourceDocument> docs = new ArrayList<>(documents);
    docs.sort(Comparator.comparing(SourceDocument::origin).thenComparingInt(SourceDocument::line));

    Map<ResourceKey, Resource> byKey = new HashMap<>();
    Map<ResourceKey, String> originOf = new HashMap<>();
    java.util.SortedMap<ResourceKey, ObjectMeta> rejectedMeta = new java.util.TreeMap<>();
    for (SourceDocument doc : docs) {
      DecodedDocument d = perDocument.apply(doc);
      if (d.documentProblem() != null) {
        documentProblems.add(d.documentProblem());
        continue;
      }
      ResourceKey key = d.key();
      if (originOf.containsKey(key)) {
        reports.warning(
            key,
            "defined again at " + d.meta().origin() + "; the definition at " + originOf.get(key)
                + " is used and this one is ignored");
        continue;
      }
      reports.accept(key, d.meta().origin());
      d.errors().forEach(e -> reports.error(key, e));
      d.warnings().forEach(w -> reports.warning(key, w));
      originOf.put(key, d.meta().origin());
      if (d.errors().isEmpty()) {
        byKey.put(key, d.resource());
      } else {
        rejectedMeta.put(key, d.meta());
      }
    }

    Settings settings = chooseSettings(byKey, reports);
    List<Gateway> gateways = new ArrayList<>();
    List<VirtualService> virtualServices = new ArrayList<>();
    List<RouteTable> routeTables = new ArrayList<>();
    List<Upstream> upstreams = new ArrayList<>();
    List<UpstreamGroup> upstreamGroups = new ArrayList<>();
    for (Resource r : byKey.values()) {
      if (r instanceof Settings) {
        continue;
      }
      if (!settings.watches(r.meta().namespace())) {
        reports.warning(
            r.key(),
            "namespace " + r.meta().namespace() + " is not in settings.watchNamespaces "
                + settings.watchNamespaces() + "; ignored");
        continue;
      }
      if (r instanceof Gateway g) {
        gateways.add(g);
      } else if (r instanceof VirtualService v) {
        virtualServices.add(v);
      } else if (r instanceof RouteTable t) {
        routeTables.add(t);
      } else if (r instanceof Upstream u) {
        upstreams.add(u);
      } else if (r instanceof UpstreamGroup g) {
        upstreamGroups.add(g);
      }
    }
    ResourceSnapshot snapshot =
        new ResourceSnapshot(gateways, virtualServices, routeTables, upstreams, upstreamGroups, settings);
    return new DecodedResources(snapshot, reports.freeze(), documentProblems, rejectedMeta);
  }

  /** Decodes one document on its own: a resource with its problems, or why the document is not one. Pure. */
  public static DecodedDocument decodeDocument(SourceDocument doc) {
    Object kindValue = doc.content().get("kind");
    Object apiVersion = doc.content().get("apiVersion");
    if (!(kindValue instanceof String kindName)) {
      return DecodedDocument.problem(doc, doc.locationOf("") + ": document has no 'kind'; skipped");
    }
    var kind = Kind.byKindName(kindName);
    if (kind.isEmpty() || (apiVersion != null && !kind.get().apiVersion().equals(apiVersion))) {
      return DecodedDocument.problem(
          doc,
          doc.locationOf("")
              + ": "
              + apiVersion
              + " "
              + kindName
              + " is not a resource Shardgate reads (Gateway, VirtualService, RouteTable, Upstream,"
              + " UpstreamGroup, Settings); skipped");
    }
    if (kind.get() == Kind.PROXY) {
      // Proxies are Shardgate's own output; a stored copy of one is not input.
      return DecodedDocument.problem(doc, doc.locationOf("") + ": Proxy resources are generated by Shardgate; skipped");
    }
    Fields.Problems problems = new Fields.Problems(doc);
    Fields root = new Fields(doc.content(), "", problems);
    root.ignore("apiVersion", "kind", "status", "namespacedStatuses");
    ObjectMeta meta = decodeMeta(root, doc);
    if (meta == null) {
      return DecodedDocument.problem(
          doc,
          doc.locationOf("metadata") + ": " + kindName + " has no metadata.name; skipped" + errorsSuffix(problems));
    }
    ResourceKey key = new ResourceKey(kind.get(), meta.namespace(), meta.name());
    Fields spec = root.obj("spec");
    root.finish();
    if (spec == null) {
      spec = new Fields(Map.of(), "spec", problems);
    }
    Resource resource =
        switch (kind.get()) {
          case GATEWAY -> decodeGateway(meta, spec);
          case VIRTUAL_SERVICE -> decodeVirtualService(meta, spec);
          case ROUTE_TABLE -> decodeRouteTable(meta, spec);
          case UPSTREAM -> decodeUpstream(meta, spec);
          case UPSTREAM_GROUP -> decodeUpstreamGroup(meta, spec);
          case SETTINGS -> decodeSettings(meta, spec);
          case PROXY -> throw new IllegalStateException("handled above");
        };
    spec.finish();
    return new DecodedDocument(doc, key, meta, resource, problems.errors, problems.warnings, null);
  }

  private static String errorsSuffix(Fields.Problems problems) {
    return problems.errors.isEmpty() ? "" : " (" + String.join("; ", problems.errors) + ")";
  }

  /** Gloo reads one Settings; prefer the one named {@code default}, then the first by namespace/name. */
  private static Settings chooseSettings(Map<ResourceKey, Resource> byKey, Reports reports) {
    List<Settings> all =
        byKey.values().stream()
            .filter(Settings.class::isInstance)
            .map(Settings.class::cast)
            .sorted(
                Comparator.comparing((Settings s) -> !s.meta().name().equals("default"))
                    .thenComparing(Settings::key))
            .toList();
    if (all.isEmpty()) {
      return Settings.DEFAULTS;
    }
    Settings chosen = all.get(0);
    for (Settings other : all.subList(1, all.size())) {
      reports.warning(other.key(), "only one Settings is read; " + chosen.key() + " is used and this one is ignored");
    }
    return chosen;
  }

  private static ObjectMeta decodeMeta(Fields root, SourceDocument doc) {
    Fields meta = root.obj("metadata");
    if (meta == null) {
      return null;
    }
    String name = meta.str("name");
    String namespace = meta.str("namespace", "default");
    Map<String, String> labels = meta.strMap("labels");
    Map<String, String> annotations = meta.strMap("annotations");
    // Server-side bookkeeping that Shardgate has no use for.
    meta.ignore(
        "resourceVersion", "generation", "uid", "creationTimestamp", "managedFields", "ownerReferences",
        "finalizers", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName");
    meta.finish();
    if (name == null || name.isEmpty()) {
      return null;
    }
    return new ObjectMeta(
        name,
        namespace.isEmpty() ? "default" : namespace,
        labels == null ? Map.of() : labels,
        annotations == null ? Map.of() : annotations,
        doc.locationOf(""));
  }

  // ---------------------------------------------------------------- Gateway

  private static Gateway decodeGateway(ObjectMeta meta, Fields spec) {
    String bindAddress = spec.str("bindAddress", "::");
    if (!bindAddress.isEmpty() && !io.shardgate.sharding.model.IpLiterals.isIp(bindAddress)) {
      spec.problems().error(spec.pathOf("bindAddress"), "must be an IP address such as '::' or '0.0.0.0', got '" + bindAddress + "'");
    }
    Integer bindPort = spec.intInRange("bindPort", 1, 65535);
    if (bindPort == null && !spec.has("bindPort")) {
      spec.problems().error(spec.pathOf("bindPort"), "is required: the port the listener binds to");
    }
    Boolean ssl = spec.bool("ssl");
    List<String> proxyNames = spec.strList("proxyNames");
    spec.unsupported("useProxyProto", "PROXY protocol is not supported by Shardgate yet; ignored");
    unsupportedOptions(spec, "options");
    unsupportedOptions(spec, "routeOptions");
    Gateway.GatewayType type = Gateway.GatewayType.NONE;
    Gateway.HttpGateway http = null;
    int types = 0;
    Fields h = spec.obj("httpGateway");
    if (h != null) {
      types++;
      type = Gateway.GatewayType.HTTP;
      http = decodeHttpGateway(h);
      h.finish();
    }
    if (spec.has("tcpGateway")) {
      types++;
      spec.ignore("tcpGateway");
      type = Gateway.GatewayType.TCP;
    }
    if (spec.has("hybridGateway")) {
      types++;
      spec.ignore("hybridGateway");
      type = Gateway.GatewayType.HYBRID;
    }
    if (types > 1) {
      spec.problems().error(spec.path(), "set only one of httpGateway, tcpGateway and hybridGateway");
    }
    return new Gateway(
        meta,
        bindAddress.isEmpty() ? "::" : bindAddress,
        bindPort == null ? 0 : bindPort,
        Boolean.TRUE.equals(ssl),
        proxyNames,
        type,
        http);
  }

  private static Gateway.HttpGateway decodeHttpGateway(Fields h) {
    List<ResourceRef> refs = new ArrayList<>();
    for (Fields r : h.objList("virtualServices")) {
      refs.add(decodeRef(r));
    }
    Map<String, String> selector = h.strMap("virtualServiceSelector");
    List<LabelExpression> expressions = null;
    Fields ex = h.obj("virtualServiceExpressions");
    if (ex != null) {
      expressions = decodeExpressions(ex, "expressions");
      ex.finish();
    }
    List<String> namespaces = h.strList("virtualServiceNamespaces");
    unsupportedOptions(h, "options");
    return new Gateway.HttpGateway(refs, selector, expressions, namespaces);
  }

  private static List<LabelExpression> decodeExpressions(Fields parent, String key) {
    List<LabelExpression> out = new ArrayList<>();
    for (Fields e : parent.objList(key)) {
      out.add(new LabelExpression(e.str("key", ""), e.str("operator", "Equals"), e.strList("values")));
      e.finish();
    }
    return out;
  }

  private static ResourceRef decodeRef(Fields r) {
    ResourceRef ref = new ResourceRef(r.str("namespace", ""), r.str("name", ""));
    if (ref.name().isEmpty()) {
      r.problems().error(r.pathOf("name"), "reference has no name");
    }
    r.finish();
    return ref;
  }

  /** Options blocks Shardgate does not serve yet: one warning per option named. */
  private static void unsupportedOptions(Fields parent, String key) {
    Fields o = parent.obj(key);
    if (o == null) {
      return;
    }
    o.finish();
  }

  // ---------------------------------------------------------------- VirtualService, RouteTable, Route

  private static VirtualService decodeVirtualService(ObjectMeta meta, Fields spec) {
    boolean hasSsl = spec.has("sslConfig");
    if (hasSsl) {
      spec.unsupported(
          "sslConfig",
          "TLS termination is not served by Shardgate yet: only Gateways with ssl: true select this"
              + " VirtualService, and those are not built");
    }
    String displayName = spec.str("displayName");
    VirtualService.VirtualHost vh = null;
    Fields v = spec.obj("virtualHost");
    if (v != null) {
      List<String> domains = v.strList("domains");
      for (int i = 0; i < domains.size(); i++) {
        if (domains.get(i).isEmpty()) {
          v.problems().error(v.pathOf("domains") + "[" + i + "]", "a domain must not be empty (use '*' for all)");
        }
      }
      List<Route> routes = decodeRoutes(v, "routes");
      unsupportedOptions(v, "options");
      v.unsupported("optionsConfigRefs", "VirtualHostOption references are not supported by Shardgate yet; ignored");
      v.finish();
      vh = new VirtualService.VirtualHost(domains, routes);
    } else {
      spec.problems().warning(spec.pathOf("virtualHost"), "is missing: the VirtualService has no domains and no routes");
    }
    return new VirtualService(meta, vh, hasSsl, displayName);
  }

  private static RouteTable decodeRouteTable(ObjectMeta meta, Fields spec) {
    List<Route> routes = decodeRoutes(spec, "routes");
    Long weight = spec.integer("weight");
    return new RouteTable(meta, routes, weight == null ? 0 : weight.intValue());
  }

  private static List<Route> decodeRoutes(Fields parent, String key) {
    List<Route> out = new ArrayList<>();
    for (Fields r : parent.objList(key)) {
      out.add(decodeRoute(r));
      r.finish();
    }
    return out;
  }

  private static Route decodeRoute(Fields r) {
    String name = r.str("name");
    List<Matcher> matchers = new ArrayList<>();
    for (Fields m : r.objList("matchers")) {
      matchers.add(decodeMatcher(m));
      m.finish();
    }
    Boolean inheritableMatchers = r.bool("inheritableMatchers");
    Boolean inheritablePathMatchers = r.bool("inheritablePathMatchers");
    List<Action> actions = new ArrayList<>();
    Fields ra = r.obj("routeAction");
    if (ra != null) {
      actions.add(new Action.Forward(decodeTarget(ra)));
      ra.finish();
    }
    Fields red = r.obj("redirectAction");
    if (red != null) {
      actions.add(decodeRedirect(red));
      red.finish();
    }
    Fields dr = r.obj("directResponseAction");
    if (dr != null) {
      Integer status = dr.intInRange("status", 100, 599);
      if (status == null && !dr.has("status")) {
        dr.problems().error(dr.pathOf("status"), "is required: the HTTP status to answer with");
      }
      actions.add(new Action.DirectResponse(status == null ? 0 : status, dr.str("body", "")));
      dr.finish();
    }
    Fields del = r.obj("delegateAction");
    if (del != null) {
      actions.add(decodeDelegate(del));
      del.finish();
    }
    if (r.has("graphqlApiRef")) {
      r.unsupported("graphqlApiRef", "GraphQL is an enterprise feature Shardgate does not serve; ignored");
    }
    if (actions.size() > 1) {
      r.problems().error(
          r.path(), "set only one of routeAction, redirectAction, directResponseAction and delegateAction");
    }
    RouteOptions options = decodeRouteOptions(r, actions.isEmpty() ? null : actions.get(0));
    r.unsupported("optionsConfigRefs", "RouteOption references are not supported by Shardgate yet; ignored");
    return new Route(
        name,
        matchers,
        actions.isEmpty() ? null : actions.get(0),
        options,
        inheritableMatchers,
        inheritablePathMatchers,
        r.path() + " (" + r.problems().doc.locationOf(r.path()) + ")");
  }

  private static Matcher decodeMatcher(Fields m) {
    List<Matcher.PathMatch> paths = new ArrayList<>();
    String prefix = m.str("prefix");
    if (prefix != null) {
      paths.add(new Matcher.PathMatch(Matcher.PathType.PREFIX, prefix));
    }
    String exact = m.str("exact");
    if (exact != null) {
      paths.add(new Matcher.PathMatch(Matcher.PathType.EXACT, exact));
    }
    String regex = m.str("regex");
    if (regex != null) {
      paths.add(new Matcher.PathMatch(Matcher.PathType.REGEX, regex));
      String problem = RegexCheck.problem(regex);
      if (problem != null) {
        m.problems().error(m.pathOf("regex"), problem);
      }
    }
    if (m.has("connectMatcher")) {
      m.ignore("connectMatcher");
      m.problems().error(m.pathOf("connectMatcher"), "CONNECT matchers are not supported by Shardgate yet");
    }
    if (paths.size() > 1) {
      m.problems().error(m.path(), "set only one of prefix, exact and regex");
    }
    for (Matcher.PathMatch p : paths) {
      if (p.type() != Matcher.PathType.REGEX && !p.value().startsWith("/")) {
        m.problems().error(m.pathOf(p.type().name().toLowerCase()), "a path must start with '/', got '" + p.value() + "'");
      }
    }
    Boolean caseSensitive = m.bool("caseSensitive");
    List<Matcher.HeaderMatch> headers = new ArrayList<>();
    for (Fields h : m.objList("headers")) {
      String name = h.str("name", "");
      if (name.isEmpty()) {
        h.problems().error(h.pathOf("name"), "a header matcher needs a name");
      }
      String value = h.str("value");
      boolean isRegex = Boolean.TRUE.equals(h.bool("regex"));
      if (isRegex && value != null) {
        String problem = RegexCheck.problem(value);
        if (problem != null) {
          h.problems().error(h.pathOf("value"), problem);
        }
      }
      headers.add(new Matcher.HeaderMatch(name, value == null || value.isEmpty() ? null : value, isRegex,
          Boolean.TRUE.equals(h.bool("invertMatch"))));
      h.finish();
    }
    List<Matcher.QueryParameterMatch> query = new ArrayList<>();
    for (Fields q : m.objList("queryParameters")) {
      String name = q.str("name", "");
      if (name.isEmpty()) {
        q.problems().error(q.pathOf("name"), "a query parameter matcher needs a name");
      }
      String value = q.str("value");
      boolean isRegex = Boolean.TRUE.equals(q.bool("regex"));
      if (isRegex && value != null) {
        String problem = RegexCheck.problem(value);
        if (problem != null) {
          q.problems().error(q.pathOf("value"), problem);
        }
      }
      query.add(new Matcher.QueryParameterMatch(name, value == null || value.isEmpty() ? null : value, isRegex));
      q.finish();
    }
    List<String> methods = m.strList("methods");
    return new Matcher(paths.isEmpty() ? null : paths.get(0), caseSensitive, headers, query, methods);
  }

  private static Action.Target decodeTarget(Fields ra) {
    List<Action.Target> targets = new ArrayList<>();
    Fields single = ra.obj("single");
    if (single != null) {
      targets.add(new Action.Single(decodeDestination(single)));
      single.finish();
    }
    Fields multi = ra.obj("multi");
    if (multi != null) {
      List<WeightedDestination> ds = new ArrayList<>();
      for (Fields wd : multi.objList("destinations")) {
        ds.add(decodeWeighted(wd));
        wd.finish();
      }
      if (ds.isEmpty()) {
        multi.problems().error(multi.pathOf("destinations"), "multi needs at least one destination");
      }
      targets.add(new Action.Multi(ds));
      multi.finish();
    }
    Fields ug = ra.obj("upstreamGroup");
    if (ug != null) {
      targets.add(new Action.UpstreamGroupRef(decodeRef(ug)));
    }
    for (String unsupported : List.of("clusterHeader", "dynamicForwardProxy")) {
      if (ra.has(unsupported)) {
        ra.ignore(unsupported);
        targets.add(new Action.UnsupportedTarget(ra.pathOf(unsupported)));
      }
    }
    if (targets.size() > 1) {
      ra.problems().error(ra.path(), "set only one of single, multi, upstreamGroup");
    }
    if (targets.isEmpty()) {
      ra.problems().error(ra.path(), "routeAction needs a destination: single, multi or upstreamGroup");
      return new Action.Multi(List.of());
    }
    return targets.get(0);
  }

  private static WeightedDestination decodeWeighted(Fields wd) {
    Fields d = wd.obj("destination");
    Destination dest;
    if (d == null) {
      wd.problems().error(wd.pathOf("destination"), "is required");
      dest = new Destination(null, "missing");
    } else {
      dest = decodeDestination(d);
      d.finish();
    }
    Integer weight = wd.intInRange("weight", 0, Integer.MAX_VALUE);
    wd.unsupported("options", "per-destination options are not supported by Shardgate yet; ignored");
    return new WeightedDestination(dest, weight == null ? 0 : weight);
  }

  private static Destination decodeDestination(Fields d) {
    Fields up = d.obj("upstream");
    d.unsupported("destinationSpec", "destination specs (function routing) are not supported by Shardgate yet; ignored");
    d.unsupported("subset", "subset load balancing is not supported by Shardgate yet; ignored");
    if (up != null) {
      return Destination.upstream(decodeRef(up));
    }
    for (String other : List.of("kube", "consul")) {
      if (d.has(other)) {
        d.ignore(other);
        return new Destination(null, other);
      }
    }
    d.problems().error(d.path(), "a destination needs an upstream reference");
    return new Destination(null, "missing");
  }

  private static Action.Redirect decodeRedirect(Fields r) {
    String code = "MOVED_PERMANENTLY";
    Object raw = r.raw("responseCode");
    if (raw != null) {
      List<String> codes =
          List.of("MOVED_PERMANENTLY", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT");
      if (raw instanceof Long l && l >= 0 && l < codes.size()) {
        code = codes.get(l.intValue());
      } else if (raw instanceof String s && codes.contains(s)) {
        code = s;
      } else {
        r.problems().error(r.pathOf("responseCode"), "must be one of " + codes + ", got " + Fields.describe(raw));
      }
    }
    String pathRedirect = r.str("pathRedirect");
    String prefixRewrite = r.str("prefixRewrite");
    RouteOptions.RegexRewrite regexRewrite = RouteOptionsDecoder.regexRewrite(r, "regexRewrite");
    if ((pathRedirect != null ? 1 : 0) + (prefixRewrite != null ? 1 : 0) + (regexRewrite != null ? 1 : 0) > 1) {
      r.problems().error(r.path(), "set only one of pathRedirect, prefixRewrite and regexRewrite");
    }
    return new Action.Redirect(
        r.str("hostRedirect"),
        pathRedirect,
        prefixRewrite,
        regexRewrite,
        code,
        Boolean.TRUE.equals(r.bool("httpsRedirect")),
        Boolean.TRUE.equals(r.bool("stripQuery")),
        r.intInRange("portRedirect", 1, 65535));
  }

  private static Action.Delegate decodeDelegate(Fields d) {
    String name = d.str("name");
    String namespace = d.str("namespace");
    Fields refFields = d.obj("ref");
    Fields sel = d.obj("selector");
    // The deprecated name/namespace pair takes precedence over ref and selector, as in Gloo.
    if (name != null || namespace != null) {
      if (refFields != null || sel != null) {
        d.problems().warning(
            d.path(), "the deprecated name/namespace take precedence; " + (refFields != null ? "ref" : "selector")
                + " is ignored");
      }
      return new Action.Delegate(new ResourceRef(namespace, name), null);
    }
    if (refFields != null && sel != null) {
      d.problems().error(d.path(), "set only one of ref and selector");
    }
    if (refFields != null) {
      return new Action.Delegate(decodeRef(refFields), null);
    }
    if (sel != null) {
      List<String> namespaces = sel.strList("namespaces");
      Map<String, String> labels = sel.strMap("labels");
      List<LabelExpression> expressions = decodeExpressions(sel, "expressions");
      sel.finish();
      return new Action.Delegate(
          null, new Action.RouteTableSelector(namespaces, labels == null ? Map.of() : labels, expressions));
    }
    return new Action.Delegate(null, null);
  }

  /** {@code options} of a route whose action is {@code action}; see {@link RouteOptionsDecoder}. */
  private static RouteOptions decodeRouteOptions(Fields r, Action action) {
    Fields o = r.obj("options");
    if (o == null) {
      return RouteOptions.NONE;
    }
    return RouteOptionsDecoder.decode(o, action);
  }

  // ---------------------------------------------------------------- Upstream, UpstreamGroup, Settings

  private static final List<String> UPSTREAM_TYPES =
      List.of("static", "kube", "consul", "aws", "azure", "pipe", "awsEc2", "gcp", "ai");

  private static Upstream decodeUpstream(ObjectMeta meta, Fields spec) {
    String type = "";
    Upstream.StaticSpec staticSpec = null;
    int types = 0;
    for (String t : UPSTREAM_TYPES) {
      if (!spec.has(t)) {
        continue;
      }
      types++;
      type = t;
      if (t.equals("static")) {
        Fields s = spec.obj("static");
        if (s != null) {
          staticSpec = decodeStatic(s);
          s.finish();
        }
      } else {
        spec.ignore(t);
        spec.problems().warning(
            spec.pathOf(t), t + " upstreams are not served by Shardgate yet: no cluster is built for this Upstream");
      }
    }
    if (types == 0) {
      spec.problems().error(spec.path(), "an Upstream needs a type such as static (with hosts)");
    } else if (types > 1) {
      spec.problems().error(spec.path(), "set only one upstream type, found several");
    }
    var connectTimeout = (java.time.Duration) null;
    Fields cc = spec.obj("connectionConfig");
    if (cc != null) {
      connectTimeout = cc.duration("connectTimeout");
      cc.finish();
    }
    String sni = null;
    Fields ssl = spec.obj("sslConfig");
    if (ssl != null) {
      sni = ssl.str("sni");
      ssl.finish();
    }
    spec.ignore("discoveryMetadata");
    return new Upstream(meta, type, staticSpec, connectTimeout, sni);
  }

  private static Upstream.StaticSpec decodeStatic(Fields s) {
    List<Upstream.StaticHost> hosts = new ArrayList<>();
    for (Fields h : s.objList("hosts")) {
      String addr = h.str("addr", "");
      if (addr.isEmpty()) {
        h.problems().error(h.pathOf("addr"), "a host needs an address");
      }
      Integer port = h.intInRange("port", 1, 65535);
      if (port == null && !h.has("port")) {
        h.problems().error(h.pathOf("port"), "a host needs a port");
      }
      hosts.add(new Upstream.StaticHost(addr, port == null ? 0 : port, h.str("sniAddr")));
      h.finish();
    }
    if (hosts.isEmpty()) {
      s.problems().error(s.pathOf("hosts"), "a static upstream needs at least one host");
    }
    Boolean useTls = s.bool("useTls");
    boolean autoSni = Boolean.TRUE.equals(s.bool("autoSniRewrite"));
    return new Upstream.StaticSpec(hosts, useTls, autoSni);
  }

  private static UpstreamGroup decodeUpstreamGroup(ObjectMeta meta, Fields spec) {
    List<WeightedDestination> ds = new ArrayList<>();
    for (Fields wd : spec.objList("destinations")) {
      ds.add(decodeWeighted(wd));
      wd.finish();
    }
    if (ds.isEmpty()) {
      spec.problems().error(spec.pathOf("destinations"), "an UpstreamGroup needs at least one destination");
    }
    return new UpstreamGroup(meta, ds);
  }

  private static Settings decodeSettings(ObjectMeta meta, Fields spec) {
    String discoveryNamespace = spec.str("discoveryNamespace");
    List<String> watchNamespaces = spec.strList("watchNamespaces");
    boolean readAll = false;
    Fields gw = spec.obj("gateway");
    if (gw != null) {
      readAll = Boolean.TRUE.equals(gw.bool("readGatewaysFromAllNamespaces"));
      gw.finish();
    }
    Settings.InvalidConfigPolicy policy = null;
    Fields gloo = spec.obj("gloo");
    if (gloo != null) {
      Fields icp = gloo.obj("invalidConfigPolicy");
      if (icp != null) {
        Integer code = icp.intInRange("invalidRouteResponseCode", 200, 599);
        policy =
            new Settings.InvalidConfigPolicy(
                Boolean.TRUE.equals(icp.bool("replaceInvalidRoutes")),
                code == null ? 404 : code,
                icp.str("invalidRouteResponseBody", Settings.InvalidConfigPolicy.DEFAULT_BODY));
        icp.finish();
      }
      // Listener addresses of Gloo's own servers: Shardgate takes its ports from the command line.
      gloo.ignore("xdsBindAddr", "restXdsBindAddr", "validationBindAddr", "proxyDebugBindAddr");
      gloo.finish();
    }
    // Which config source to read is chosen on Shardgate's command line, not in Settings.
    spec.ignore("kubernetesConfigSource", "directoryConfigSource", "consulKvSource", "kubernetesSecretSource",
        "directorySecretSource", "vaultSecretSource", "kubernetesArtifactSource", "directoryArtifactSource",
        "consulKvArtifactSource", "refreshRate");
    // Shardgate's own block: per-shard clusters and the edge shard (docs/sharding.md).
    Settings.Shardgate shardgate = ShardgateSettingsDecoder.decode(spec, "shardgate");
    return new Settings(meta, discoveryNamespace, watchNamespaces, readAll, policy, shardgate);
  }
}
