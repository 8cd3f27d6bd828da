package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.Action.Destination;
import io.shardgate.sharding.model.Action.WeightedDestination;
import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.KubernetesNames;
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
import io.shardgate.sharding.model.TlsParameters;
import io.shardgate.sharding.model.TlsSecretSource;
import io.shardgate.sharding.model.SslConfig;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.UpstreamSslConfig;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.Reports;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Decodes Gloo Edge v1 documents (Kubernetes form) into the typed resource model.
 *
 * <p>Stage: decoding, between a source and gateway translation. Pure: the result depends only on the documents
 * (their order included only through the origin-sorted tie-break for duplicates). Stateless and thread-safe.
 *
 * <p>Rules (strict decoding, driven by the {@link GlooApi} table): a document whose identity is wrong is not read
 * (see {@link DocumentIdentity}); a key that is not a field of Gloo's API, a value of the wrong type and an invalid
 * value are errors that reject the resource (it is left out of the snapshot, so nothing partial is ever served); a
 * field Gloo has but Shardgate does not serve is a warning unless its value is the default; a route that uses
 * something Shardgate cannot serve without changing what it matches, where it goes or who may use it is marked
 * unservable and left out by the translator. Every message names the field path and its file:line, and shows a
 * value only where the table marks the field safe.
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
      List<SourceDocument> documents, Function<SourceDocument, DecodedDocument> perDocument) {
    return new DecodedResourcesCache(perDocument).decode(documents, Collections.emptySortedMap()).resources();
  }

  /** Decodes one document on its own: a resource with its problems, or why the document is not one. Pure. */
  public static DecodedDocument decodeDocument(SourceDocument doc) {
    DocumentIdentity.Result identity = DocumentIdentity.check(doc);
    if (identity.verdict() != DocumentIdentity.Verdict.RESOURCE) {
      return DecodedDocument.problem(
          doc,
          identity.verdict() == DocumentIdentity.Verdict.ERROR
              ? doc.locationOf(identity.field()) + ": not read: " + identity.message()
              : identity.describe(doc));
    }
    Kind kind = identity.kind();
    Fields.Problems problems = new Fields.Problems(doc);
    Fields root = new Fields(doc.content(), "", problems, API.message("Document"));
    // DocumentIdentity has checked them; reading marks them read.
    root.str("apiVersion");
    root.str("kind");
    ObjectMeta meta = decodeMeta(root, doc);
    ResourceKey key = new ResourceKey(kind, meta.namespace(), meta.name());
    Fields spec = root.objAs("spec", kind.kindName());
    if (spec == null) {
      spec = new Fields(Map.of(), "spec", problems, API.message(kind.kindName()));
    }
    Resource resource =
        switch (kind) {
          case GATEWAY -> decodeGateway(meta, spec);
          case VIRTUAL_SERVICE -> decodeVirtualService(meta, spec);
          case ROUTE_TABLE -> decodeRouteTable(meta, spec);
          case UPSTREAM -> decodeUpstream(meta, spec);
          case UPSTREAM_GROUP -> decodeUpstreamGroup(meta, spec);
          case SETTINGS -> decodeSettings(meta, spec);
          case PROXY -> throw new IllegalStateException("DocumentIdentity skips Proxies");
          case SECRET -> throw new IllegalStateException("DocumentIdentity skips Secrets");
        };
    spec.finish();
    root.finish();
    problems.finishAll();
    // What no route claimed cannot be served by leaving a route out: the resource itself is not served.
    problems.unservable.forEach(
        (path, reason) -> problems.error(path, reason + "; Shardgate cannot serve this " + kind.kindName()));
    return new DecodedDocument(doc, key, meta, resource, problems.errors, problems.warnings, null);
  }

  private static final GlooApi API = GlooApi.table();

  /** The metadata; {@link DocumentIdentity} has already checked that name and namespace are valid. */
  private static ObjectMeta decodeMeta(Fields root, SourceDocument doc) {
    Fields meta = root.obj("metadata");
    String name = meta.str("name");
    String namespace = meta.str("namespace", "default");
    Map<String, String> labels = labels(meta, "labels", true);
    Map<String, String> annotations = labels(meta, "annotations", false);
    meta.finish();
    return new ObjectMeta(
        name,
        namespace,
        labels == null ? Map.of() : labels,
        annotations == null ? Map.of() : annotations,
        doc.locationOf(""));
  }

  /**
   * A map of labels (or annotations, whose keys follow the same rules) checked as Kubernetes checks them; an
   * invalid key or value is an error. Selectors use the same check: a selector that no valid label can satisfy is a
   * mistake, not a way to select nothing.
   */
  private static Map<String, String> labels(Fields f, String key, boolean checkValues) {
    Map<String, String> m = f.strMap(key);
    if (m == null) {
      return null;
    }
    m.forEach(
        (k, v) -> {
          String p = f.pathOf(key) + "." + k;
          String problem = KubernetesNames.labelKeyProblem(k);
          if (problem != null) {
            f.problems().error(p, problem + ", got " + Fields.quote(k));
          } else if (checkValues && (problem = KubernetesNames.labelValueProblem(v)) != null) {
            f.problems().error(p, problem + ", got " + f.shown(key, v));
          }
        });
    return m;
  }

  /** Namespaces to select from: each a valid namespace, or {@code *} for all. */
  private static List<String> namespaces(Fields f, String key) {
    List<String> namespaces = f.strList(key);
    for (int i = 0; i < namespaces.size(); i++) {
      String ns = namespaces.get(i);
      String problem = ns.equals("*") ? null : KubernetesNames.namespaceProblem(ns);
      if (problem != null) {
        f.problems().error(f.pathOf(key) + "[" + i + "]", "a namespace " + problem + " (or '*' for all), got "
            + f.shown(key, ns));
      }
    }
    return namespaces;
  }

  // ---------------------------------------------------------------- Gateway

  private static Gateway decodeGateway(ObjectMeta meta, Fields spec) {
    String bindAddress = spec.str("bindAddress", "::");
    if (!bindAddress.isEmpty() && !IpLiterals.isIp(bindAddress)) {
      spec.problems().error(spec.pathOf("bindAddress"),
          "must be an IP address such as '::' or '0.0.0.0', got " + spec.shown("bindAddress", bindAddress));
    }
    Integer bindPort = spec.intInRange("bindPort", 1, 65535);
    if (bindPort == null && !spec.has("bindPort")) {
      spec.problems().error(spec.pathOf("bindPort"), "is required: the port the listener binds to");
    }
    Boolean ssl = spec.bool("ssl");
    List<String> proxyNames = spec.strList("proxyNames");
    for (int i = 0; i < proxyNames.size(); i++) {
      // Each names a Proxy resource and the Envoys of a shard: it must be a name Kubernetes accepts.
      String problem = KubernetesNames.objectNameProblem(proxyNames.get(i));
      if (problem != null) {
        spec.problems().error(spec.pathOf("proxyNames") + "[" + i + "]",
            "a proxy name " + problem + ", got " + spec.shown("proxyNames", proxyNames.get(i)));
      }
    }
    Gateway.GatewayType type = Gateway.GatewayType.NONE;
    Gateway.HttpGateway http = null;
    Fields h = spec.obj("httpGateway");
    if (h != null) {
      type = Gateway.GatewayType.HTTP;
      http = decodeHttpGateway(h);
      h.finish();
    } else if (spec.opaque("tcpGateway") != null) {
      type = Gateway.GatewayType.TCP;
    } else if (spec.opaque("hybridGateway") != null) {
      type = Gateway.GatewayType.HYBRID;
    } else {
      // Decided here, not in translation: a Gateway rejected while decoding keeps its last accepted listener in
      // the shards that served it, whatever proxyNames its broken version names.
      spec.problems().error(spec.path(), "a Gateway needs one of httpGateway, tcpGateway or hybridGateway");
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
    Map<String, String> selector = labels(h, "virtualServiceSelector", true);
    List<LabelExpression> expressions = null;
    Fields ex = h.obj("virtualServiceExpressions");
    if (ex != null) {
      expressions = decodeExpressions(ex, "expressions");
      for (int i = 0; i < expressions.size(); i++) {
        String problem = expressions.get(i).validate();
        if (problem != null) {
          ex.problems().error(ex.pathOf("expressions") + "[" + i + "]", problem);
        }
      }
      ex.finish();
    }
    List<String> namespaces = namespaces(h, "virtualServiceNamespaces");
    return new Gateway.HttpGateway(refs, selector, expressions, namespaces);
  }

  /** Selector expressions; their key, values and operator arity are checked where they are used. */
  private static List<LabelExpression> decodeExpressions(Fields parent, String key) {
    List<LabelExpression> out = new ArrayList<>();
    for (Fields e : parent.objList(key)) {
      String operator = e.enumName("operator");
      out.add(new LabelExpression(e.str("key", ""), operator == null ? "Equals" : operator, e.strList("values")));
      e.finish();
    }
    return out;
  }

  static ResourceRef decodeRef(Fields r) {
    ResourceRef ref = new ResourceRef(r.str("namespace", ""), r.str("name", ""));
    if (ref.name().isEmpty()) {
      r.problems().error(r.pathOf("name"), "reference has no name");
    } else if (KubernetesNames.objectNameProblem(ref.name()) != null) {
      // No resource can have this name: a typo, reported here rather than as a reference that is not found.
      r.problems().error(r.pathOf("name"), "a resource name " + KubernetesNames.objectNameProblem(ref.name())
          + ", got " + r.shown("name", ref.name()));
    }
    if (!ref.namespace().isEmpty() && KubernetesNames.namespaceProblem(ref.namespace()) != null) {
      r.problems().error(r.pathOf("namespace"), "a namespace " + KubernetesNames.namespaceProblem(ref.namespace())
          + ", got " + r.shown("namespace", ref.namespace()));
    }
    r.finish();
    return ref;
  }

  // ---------------------------------------------------------------- VirtualService, RouteTable, Route

  private static VirtualService decodeVirtualService(ObjectMeta meta, Fields spec) {
    Fields ssl = spec.obj("sslConfig");
    SslConfig sslConfig = ssl == null ? null : TlsDecoding.sslConfig(ssl, meta.namespace());
    String displayName = spec.str("displayName");
    VirtualService.VirtualHost vh = null;
    Fields v = spec.obj("virtualHost");
    if (v != null) {
      List<String> domains = v.strList("domains");
      // Envoy compares domains case-insensitively and refuses a route configuration that lists one twice.
      Map<String, Integer> firstIndex = new HashMap<>();
      for (int i = 0; i < domains.size(); i++) {
        if (domains.get(i).isEmpty()) {
          v.problems().error(v.pathOf("domains") + "[" + i + "]", "a domain must not be empty (use '*' for all)");
          continue;
        }
        Integer first = firstIndex.putIfAbsent(domains.get(i).toLowerCase(Locale.ROOT), i);
        if (first != null) {
          v.problems().error(v.pathOf("domains") + "[" + i + "]", "repeats domains[" + first + "] "
              + v.shown("domains", domains.get(first)) + " (domains are case-insensitive); list each domain once");
        }
      }
      List<Route> routes = decodeRoutes(v, "routes");
      Fields options = v.obj("options");
      if (options != null) {
        options.finish();
      }
      v.finish();
      // An option of the host that restricts access and is not enforced: no route of the host may be served.
      Fields.Problems.Claimed hostWide = v.problems().claimUnservable(spec.path());
      if (!hostWide.reasons().isEmpty()) {
        String reason = hostWide.joined() + " (on the virtual host, so it applies to every route)";
        routes = routes.stream()
            .map(r -> r.unservable() == null || (hostWide.closes() && !r.closed())
                ? r.withUnservable(r.unservable() == null ? reason : r.unservable() + "; " + reason,
                    hostWide.closes() || r.closed())
                : r)
            .toList();
      }
      vh = new VirtualService.VirtualHost(domains, routes);
    } else {
      spec.problems().warning(spec.pathOf("virtualHost"), "is missing: the VirtualService has no domains and no routes");
    }
    return new VirtualService(meta, vh, sslConfig, displayName, locations(spec, vh, ssl));
  }

  /** Where the fields are that translation may report on: the TLS settings and each domain (SNI names). */
  private static Map<String, String> locations(Fields spec, VirtualService.VirtualHost vh, Fields ssl) {
    Map<String, String> out = new TreeMap<>();
    SourceDocument doc = spec.problems().doc;
    if (ssl != null) {
      out.put(ssl.path(), doc.locationOf(ssl.path()));
      for (String key : List.of("secretRef", "sslFiles", "sds", "sniDomains", "verifySubjectAltName")) {
        if (ssl.has(key)) {
          out.put(ssl.pathOf(key), doc.locationOf(ssl.pathOf(key)));
        }
      }
    }
    if (vh != null) {
      String domains = spec.pathOf("virtualHost") + ".domains";
      for (int i = 0; i < vh.domains().size(); i++) {
        out.put(domains + "[" + i + "]", doc.locationOf(domains + "[" + i + "]"));
      }
    }
    return out;
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
    }
    return out;
  }

  /**
   * One route, finished. A field in it that Shardgate cannot serve without changing what the route matches, where
   * it goes or who may use it makes the route unservable (see {@link Route#unservable()}); the translator then
   * leaves it out, so it never widens into something else.
   */
  private static Route decodeRoute(Fields r) {
    String name = r.str("name");
    List<Matcher> matchers = new ArrayList<>();
    for (Fields m : r.objList("matchers")) {
      matchers.add(decodeMatcher(m));
      m.finish();
    }
    Boolean inheritableMatchers = r.bool("inheritableMatchers");
    Boolean inheritablePathMatchers = r.bool("inheritablePathMatchers");
    Action action = null;
    Fields ra = r.obj("routeAction");
    if (ra != null) {
      action = new Action.Forward(decodeTarget(ra));
      ra.finish();
    }
    Fields red = r.obj("redirectAction");
    if (red != null) {
      Action redirect = decodeRedirect(red);
      action = action == null ? redirect : action;
      red.finish();
    }
    Fields dr = r.obj("directResponseAction");
    if (dr != null) {
      Integer status = dr.intInRange("status", 100, 599);
      if (status == null && !dr.has("status")) {
        dr.problems().error(dr.pathOf("status"), "is required: the HTTP status to answer with");
      }
      Action direct = new Action.DirectResponse(status == null ? 0 : status, dr.str("body", ""));
      action = action == null ? direct : action;
      dr.finish();
    }
    Fields del = r.obj("delegateAction");
    if (del != null) {
      Action delegate = decodeDelegate(del);
      action = action == null ? delegate : action;
      del.finish();
    }
    RouteOptions options = decodeRouteOptions(r, action);
    r.finish();
    Fields.Problems.Claimed unservable = r.problems().claimUnservable(r.path());
    return new Route(
        name,
        matchers,
        action,
        options,
        inheritableMatchers,
        inheritablePathMatchers,
        r.path() + " (" + r.problems().doc.locationOf(r.path()) + ")",
        unservable.joined(),
        unservable.closes());
  }

  private static Matcher decodeMatcher(Fields m) {
    Matcher.PathMatch path = null;
    for (Matcher.PathType type : Matcher.PathType.values()) {
      String key = type.name().toLowerCase(Locale.ROOT);
      String value = m.str(key);
      if (value == null) {
        continue;
      }
      if (type == Matcher.PathType.REGEX) {
        String problem = RegexCheck.problem(value);
        if (problem != null) {
          m.problems().error(m.pathOf(key), problem);
        }
      } else if (!value.startsWith("/")) {
        m.problems().error(m.pathOf(key), "a path must start with '/', got " + m.shown(key, value));
      }
      // With several set (an error of the oneof), the first in Gloo's order stands for the matcher.
      path = path == null ? new Matcher.PathMatch(type, value) : path;
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
    return new Matcher(path, caseSensitive, headers, query, methods);
  }

  private static Action.Target decodeTarget(Fields ra) {
    Action.Target target = null;
    Fields single = ra.obj("single");
    if (single != null) {
      target = new Action.Single(decodeDestination(single));
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
      target = target == null ? new Action.Multi(ds) : target;
      multi.finish();
    }
    Fields ug = ra.obj("upstreamGroup");
    if (ug != null) {
      Action.Target group = new Action.UpstreamGroupRef(decodeRef(ug));
      target = target == null ? group : target;
    }
    if (target != null) {
      return target;
    }
    // clusterHeader and dynamicForwardProxy make the route unservable (the table says so); it is never translated.
    if (!ra.has("clusterHeader") && !ra.has("dynamicForwardProxy")) {
      ra.problems().error(ra.path(), "routeAction needs a destination: single, multi or upstreamGroup");
    }
    return new Action.Multi(List.of());
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
    Fields options = wd.obj("options");
    if (options != null) {
      options.finish();
    }
    return new WeightedDestination(dest, weight == null ? 0 : weight);
  }

  private static Destination decodeDestination(Fields d) {
    Fields up = d.obj("upstream");
    if (up != null) {
      return Destination.upstream(decodeRef(up));
    }
    Fields kube = d.obj("kube");
    if (kube != null) {
      return Destination.service(decodeServiceDestination(kube));
    }
    if (d.has("consul")) {
      // Unservable (the table says so): the route or group holding it is not served.
      return new Destination(null, "consul");
    }
    d.problems().error(d.path(), "a destination needs an upstream reference");
    return new Destination(null, "missing");
  }

  /** {@code kube: {ref: {name, namespace}, port}}: resolved to the discovered Upstream at translation. */
  private static Action.ServiceDestination decodeServiceDestination(Fields kube) {
    Fields refFields = kube.obj("ref");
    ResourceRef ref;
    if (refFields == null) {
      kube.problems().error(kube.pathOf("ref"), "a kube destination needs the Service's ref (name, namespace)");
      ref = new ResourceRef("", "");
    } else {
      ref = decodeRef(refFields);
    }
    Integer port = kube.intInRange("port", 1, 65535);
    if (port == null && !kube.has("port")) {
      kube.problems().error(kube.pathOf("port"), "a kube destination needs the Service port");
    }
    kube.finish();
    return new Action.ServiceDestination(ref.namespace(), ref.name(), port == null ? 0 : port);
  }

  private static Action.Redirect decodeRedirect(Fields r) {
    String code = r.enumName("responseCode");
    String pathRedirect = r.str("pathRedirect");
    String prefixRewrite = r.str("prefixRewrite");
    RouteOptions.RegexRewrite regexRewrite = RouteOptionsDecoder.regexRewrite(r, "regexRewrite");
    return new Action.Redirect(
        r.str("hostRedirect"),
        pathRedirect,
        prefixRewrite,
        regexRewrite,
        code == null ? "MOVED_PERMANENTLY" : code,
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
      if (refFields != null) {
        refFields.finish();
      }
      if (sel != null) {
        decodeSelector(sel);
      }
      return new Action.Delegate(new ResourceRef(namespace, name), null);
    }
    if (refFields != null) {
      ResourceRef ref = decodeRef(refFields);
      if (sel != null) {
        decodeSelector(sel);
      }
      return new Action.Delegate(ref, null);
    }
    if (sel != null) {
      return new Action.Delegate(null, decodeSelector(sel));
    }
    return new Action.Delegate(null, null);
  }

  private static Action.RouteTableSelector decodeSelector(Fields sel) {
    List<String> namespaces = namespaces(sel, "namespaces");
    Map<String, String> labels = labels(sel, "labels", true);
    List<LabelExpression> expressions = decodeExpressions(sel, "expressions");
    sel.finish();
    return new Action.RouteTableSelector(namespaces, labels == null ? Map.of() : labels, expressions);
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
      List.of("kube", "static", "pipe", "aws", "azure", "consul", "awsEc2", "gcp", "ai");

  private static Upstream decodeUpstream(ObjectMeta meta, Fields spec) {
    // Types other than static and kube are warnings from the table: no cluster is built for them.
    String type = UPSTREAM_TYPES.stream().filter(spec::has).findFirst().orElse("");
    Upstream.StaticSpec staticSpec = null;
    Fields s = spec.obj("static");
    if (s != null) {
      staticSpec = decodeStatic(s);
      s.finish();
      type = "static";
    }
    Upstream.KubeSpec kubeSpec = null;
    Fields k = spec.obj("kube");
    if (k != null && staticSpec == null) {
      kubeSpec = decodeKube(k, meta);
      k.finish();
    }
    Upstream.ConsulSpec consulSpec = null;
    Fields c = spec.obj("consul");
    if (c != null && staticSpec == null && kubeSpec == null) {
      consulSpec = decodeConsul(c);
      c.finish();
    }
    if (type.isEmpty()) {
      spec.problems().error(spec.path(), "an Upstream needs a type such as static (with hosts)");
    }
    Duration connectTimeout = null;
    Fields cc = spec.obj("connectionConfig");
    if (cc != null) {
      connectTimeout = cc.duration("connectTimeout");
      cc.finish();
    }
    UpstreamSslConfig sslConfig = null;
    Fields ssl = spec.obj("sslConfig");
    if (ssl != null) {
      sslConfig = decodeUpstreamSsl(ssl, meta.namespace());
      if (staticSpec != null && Boolean.FALSE.equals(staticSpec.useTls())) {
        spec.problems().warning(s.pathOf("useTls"),
            "is false, but the Upstream has an sslConfig, which turns TLS on (as in Gloo); remove one of them");
      }
    }
    return new Upstream(meta, type, staticSpec, kubeSpec, consulSpec, connectTimeout, sslConfig,
        spec.bool("useHttp2"));
  }

  /**
   * An Upstream's {@code sslConfig} (Gloo's UpstreamSslConfig), finished. Every source is optional: without one,
   * Envoy encrypts and verifies nothing; {@code sslFiles} may name only a root CA (verify the backend, present no
   * certificate).
   */
  private static UpstreamSslConfig decodeUpstreamSsl(Fields ssl, String namespace) {
    TlsSecretSource source = TlsDecoding.secretSource(ssl, namespace);
    if (source instanceof TlsSecretSource.Files f && f.ocspStaple() != null) {
      ssl.problems().warning(ssl.pathOf("sslFiles") + ".ocspStaple",
          "is stapled by a server; Envoy, the client of an Upstream, sends no OCSP response; ignored");
      source = new TlsSecretSource.Files(f.tlsCert(), f.tlsKey(), f.rootCa(), null);
    }
    List<String> sans = ssl.strList("verifySubjectAltName");
    TlsDecoding.checkSubjectAltNames(ssl, source, sans);
    TlsParameters parameters = TlsDecoding.parameters(ssl);
    List<String> alpn = ssl.strList("alpnProtocols");
    boolean oneWayTls = Boolean.TRUE.equals(ssl.bool("oneWayTls"));
    if (oneWayTls && source instanceof TlsSecretSource.Sds) {
      ssl.problems().warning(ssl.pathOf("oneWayTls"), "has no effect with sds, as in Gloo: Envoy presents the"
          + " certificate the SDS server serves as certificatesSecretName (leave that name out instead)");
    }
    UpstreamSslConfig out = new UpstreamSslConfig(source, ssl.str("sni"), sans, parameters, alpn,
        Boolean.TRUE.equals(ssl.bool("allowRenegotiation")), oneWayTls && !(source instanceof TlsSecretSource.Sds));
    ssl.finish();
    return out;
  }

  private static Upstream.KubeSpec decodeKube(Fields k, ObjectMeta meta) {
    String serviceName = k.str("serviceName", "");
    if (serviceName.isEmpty()) {
      k.problems().error(k.pathOf("serviceName"), "a kube upstream needs the name of its Service");
    } else if (KubernetesNames.objectNameProblem(serviceName) != null) {
      k.problems().error(k.pathOf("serviceName"), "a Service name " + KubernetesNames.objectNameProblem(serviceName)
          + ", got " + k.shown("serviceName", serviceName));
    }
    String serviceNamespace = k.str("serviceNamespace", "");
    if (serviceNamespace.isEmpty()) {
      serviceNamespace = meta.namespace();
    } else if (KubernetesNames.namespaceProblem(serviceNamespace) != null) {
      String problem = KubernetesNames.namespaceProblem(serviceNamespace);
      k.problems().error(k.pathOf("serviceNamespace"),
          "a namespace " + problem + ", got " + k.shown("serviceNamespace", serviceNamespace));
    }
    Integer port = k.intInRange("servicePort", 1, 65535);
    if (port == null && !k.has("servicePort")) {
      k.problems().error(k.pathOf("servicePort"), "a kube upstream needs the Service port");
    }
    Map<String, String> selector = labels(k, "selector", true);
    return new Upstream.KubeSpec(serviceNamespace, serviceName, port == null ? 0 : port,
        selector == null ? null : new TreeMap<>(selector));
  }

  /**
   * A {@code consul} Upstream, as Gloo's consul plugin reads it: {@code subsetTags}, else the deprecated
   * {@code serviceTags}, name the subset metadata; the other fields select instances.
   */
  private static Upstream.ConsulSpec decodeConsul(Fields c) {
    String serviceName = c.str("serviceName", "");
    if (serviceName.isEmpty()) {
      c.problems().error(c.pathOf("serviceName"), "a consul upstream needs the name of its Consul service");
    }
    List<String> subsetTags = c.strList("subsetTags");
    if (subsetTags.isEmpty()) {
      subsetTags = c.strList("serviceTags");
    }
    Fields q = c.obj("queryOptions");
    if (q != null) {
      q.finish();
    }
    return new Upstream.ConsulSpec(serviceName, subsetTags, c.strList("instanceTags"),
        c.strList("instanceBlacklistTags"), c.strList("dataCenters"));
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
    // Gloo's default is true: a host's name is its SNI.
    boolean autoSni = !Boolean.FALSE.equals(s.bool("autoSniRewrite"));
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
    if (discoveryNamespace != null && !discoveryNamespace.isEmpty()) {
      String problem = KubernetesNames.namespaceProblem(discoveryNamespace);
      if (problem != null) {
        spec.problems().error(spec.pathOf("discoveryNamespace"), "a namespace " + problem + ", got "
            + spec.shown("discoveryNamespace", discoveryNamespace));
      }
    }
    List<String> watchNamespaces = namespaces(spec, "watchNamespaces");
    boolean readAll = false;
    boolean persistProxySpec = false;
    boolean compressedProxySpec = false;
    Boolean oneWayTls = null;
    Settings.Validation validation = Settings.Validation.DEFAULT;
    Fields gw = spec.obj("gateway");
    if (gw != null) {
      readAll = Boolean.TRUE.equals(gw.bool("readGatewaysFromAllNamespaces"));
      persistProxySpec = Boolean.TRUE.equals(gw.bool("persistProxySpec"));
      compressedProxySpec = Boolean.TRUE.equals(gw.bool("compressedProxySpec"));
      Fields vso = gw.obj("virtualServiceOptions");
      if (vso != null) {
        oneWayTls = vso.bool("oneWayTls");
        vso.finish();
      }
      Fields v = gw.obj("validation");
      if (v != null) {
        Settings.Validation d = Settings.Validation.DEFAULT;
        validation = new Settings.Validation(orDefault(v.bool("alwaysAccept"), d.alwaysAccept()),
            orDefault(v.bool("allowWarnings"), d.allowWarnings()), orDefault(v.bool("serverEnabled"),
            d.serverEnabled()));
        v.finish();
      }
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
      gloo.finish();
    }
    // Shardgate's own block: per-shard clusters and the edge shard (docs/sharding.md).
    Settings.Shardgate shardgate = ShardgateSettingsDecoder.decode(spec, "shardgate");
    return new Settings(meta, discoveryNamespace, watchNamespaces, readAll, policy, shardgate, persistProxySpec,
        compressedProxySpec, oneWayTls, validation);
  }

  private static boolean orDefault(Boolean value, boolean dflt) {
    return value == null ? dflt : value;
  }
}
