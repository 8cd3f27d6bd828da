package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.SniNames;
import io.shardgate.sharding.model.SslConfig;
import io.shardgate.sharding.model.TlsParameters;
import io.shardgate.sharding.model.TlsSecretSource;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decodes the TLS messages of Gloo's ssl.proto that a VirtualService's {@code sslConfig} (downstream) and an
 * Upstream's {@code sslConfig} (upstream) share: the certificate source ({@code secretRef} / {@code sslFiles} /
 * {@code sds}) and {@code parameters}; and the whole downstream {@code SslConfig}. Strict through the
 * {@link GlooApi} table; a missing required part is an error naming its path and file:line.
 *
 * <p>Stage: decoding. Pure, stateless.
 */
final class TlsDecoding {

  /** The bootstrap cluster Gloo sends SDS requests to when {@code sds} names neither a cluster nor a target URI. */
  static final String DEFAULT_SDS_CLUSTER = "gateway_proxy_sds";

  private static final List<String> SOURCES = List.of("secretRef", "sslFiles", "sds");

  private TlsDecoding() {}

  /**
   * A VirtualService's {@code sslConfig}, finished. Envoy terminates TLS with it, so it needs a certificate: a
   * {@code secretRef}, {@code sslFiles} with a certificate and a key, or {@code sds} with a certificate's name.
   * Null (with an error) when no source is set.
   */
  static SslConfig sslConfig(Fields f, String defaultNamespace) {
    TlsSecretSource source = secretSource(f, defaultNamespace);
    if (source == null && SOURCES.stream().noneMatch(f::has)) {
      f.problems().error(f.path(), "needs the certificate Envoy presents: set one of secretRef, sslFiles or sds");
    }
    if (source instanceof TlsSecretSource.Files files && (files.tlsCert() == null || files.tlsKey() == null)) {
      f.problems().error(f.pathOf("sslFiles"), "needs tlsCert and tlsKey: Envoy terminates TLS with them");
    }
    if (source instanceof TlsSecretSource.Sds sds && sds.certificatesSecretName() == null) {
      f.problems().error(f.pathOf("sds") + ".certificatesSecretName",
          "is required: Envoy terminates TLS with the certificate of that name");
    }
    List<String> sniDomains = sniDomains(f);
    List<String> sans = f.strList("verifySubjectAltName");
    checkSubjectAltNames(f, source, sans);
    TlsParameters parameters = parameters(f);
    List<String> alpn = f.strList("alpnProtocols");
    Boolean oneWayTls = f.bool("oneWayTls");
    Boolean disableResumption = f.bool("disableTlsSessionResumption");
    Duration connectTimeout = f.duration("transportSocketConnectTimeout");
    String ocsp = f.enumName("ocspStaplePolicy");
    f.finish();
    if (source == null) {
      return null;
    }
    return new SslConfig(source, sniDomains, sans, parameters, alpn, oneWayTls, disableResumption,
        connectTimeout == null || connectTimeout.isZero() ? null : connectTimeout,
        "LENIENT_STAPLING".equals(ocsp) ? null : ocsp);
  }

  /**
   * The certificate source of an {@code sslConfig} (either direction): its {@code secretRef} (namespace defaulting
   * to {@code defaultNamespace}, the resource's own, as in Gloo), {@code sslFiles} or {@code sds}; null when none is
   * set or the one set is unusable (an error says why). With several set (an error of the oneof), the first in that
   * order stands.
   */
  static TlsSecretSource secretSource(Fields sslConfig, String defaultNamespace) {
    TlsSecretSource out = null;
    Fields ref = sslConfig.obj("secretRef");
    if (ref != null) {
      ResourceRef r = ResourceDecoder.decodeRef(ref).withDefaultNamespace(defaultNamespace);
      out = r.name().isEmpty() ? null : new TlsSecretSource.SecretRef(r);
    }
    Fields files = sslConfig.obj("sslFiles");
    if (files != null) {
      TlsSecretSource.Files f = files(files);
      out = out == null ? f : out;
    }
    Fields sds = sslConfig.obj("sds");
    if (sds != null) {
      TlsSecretSource.Sds s = sds(sds);
      out = out == null ? s : out;
    }
    return out;
  }

  private static TlsSecretSource.Files files(Fields f) {
    String cert = path(f, "tlsCert");
    String key = path(f, "tlsKey");
    String rootCa = path(f, "rootCa");
    String ocsp = path(f, "ocspStaple");
    f.finish();
    if ((cert == null) != (key == null)) {
      f.problems().error(f.pathOf(cert == null ? "tlsCert" : "tlsKey"), "is required with "
          + (cert == null ? "tlsKey" : "tlsCert") + ": set both the certificate and its key, or neither");
      return null;
    }
    if (cert == null && rootCa == null) {
      f.problems().error(f.path(), "names no file: set tlsCert and tlsKey, or rootCa");
      return null;
    }
    if (ocsp != null && cert == null) {
      f.problems().error(f.pathOf("ocspStaple"), "staples an OCSP response to a certificate: set tlsCert and tlsKey");
      return null;
    }
    return new TlsSecretSource.Files(cert, key, rootCa, ocsp);
  }

  /** A path on the Envoy host; PEM pasted in its place is an error that never quotes it. */
  private static String path(Fields f, String key) {
    String p = f.str(key);
    if (p == null || p.isEmpty()) {
      return null;
    }
    if (p.contains("-----BEGIN") || p.contains("\n")) {
      f.problems().error(f.pathOf(key), "is the path of a file on the Envoy host, not its content; got "
          + Fields.describe(p) + " that looks like PEM (put it in a secret and use secretRef)");
      return null;
    }
    return p;
  }

  private static TlsSecretSource.Sds sds(Fields f) {
    String targetUri = emptyToNull(f.str("targetUri"));
    String clusterName = emptyToNull(f.str("clusterName"));
    String certificates = emptyToNull(f.str("certificatesSecretName"));
    String validation = emptyToNull(f.str("validationContextName"));
    TlsSecretSource.CallCredentials credentials = null;
    Fields cc = f.obj("callCredentials");
    if (cc != null) {
      Fields file = cc.obj("fileCredentialSource");
      if (file == null) {
        f.problems().error(cc.pathOf("fileCredentialSource"), "is required in callCredentials");
      } else {
        String token = emptyToNull(file.str("tokenFileName"));
        String header = emptyToNull(file.str("header"));
        if (token == null) {
          f.problems().error(file.pathOf("tokenFileName"), "is required: the file whose content is sent as the token");
        }
        file.finish();
        credentials = token == null ? null : new TlsSecretSource.CallCredentials(token, header);
      }
      cc.finish();
      if (targetUri == null) {
        f.problems().error(f.pathOf("targetUri"),
            "is required with callCredentials: they are sent over a Google gRPC channel to that address");
      }
    }
    f.finish();
    if (certificates == null && validation == null) {
      f.problems().error(f.path(), "needs certificatesSecretName or validationContextName (or both)");
      return null;
    }
    if (targetUri == null && clusterName == null) {
      // As Gloo: the SDS server next to Envoy, reached through a cluster of the bootstrap.
      clusterName = DEFAULT_SDS_CLUSTER;
    }
    return new TlsSecretSource.Sds(targetUri, clusterName, certificates, validation, credentials);
  }

  /**
   * {@code verifySubjectAltName} needs a CA to verify the peer with: {@code sslFiles.rootCa} or
   * {@code sds.validationContextName}. For a {@code secretRef} the secret's content decides, which translation
   * checks.
   */
  static void checkSubjectAltNames(Fields f, TlsSecretSource source, List<String> sans) {
    if (sans.isEmpty()) {
      return;
    }
    if (source instanceof TlsSecretSource.Files files && files.rootCa() == null) {
      f.problems().error(f.pathOf("verifySubjectAltName"),
          "needs a CA to verify the peer's certificate with: set sslFiles.rootCa");
    } else if (source instanceof TlsSecretSource.Sds sds && sds.validationContextName() == null) {
      f.problems().error(f.pathOf("verifySubjectAltName"),
          "needs a CA to verify the peer's certificate with: set sds.validationContextName");
    }
  }

  /**
   * {@code parameters}, or null when absent or all at their defaults. The minimum version must not be above the
   * maximum ({@code TLS_AUTO} leaves either to Envoy).
   */
  static TlsParameters parameters(Fields sslConfig) {
    Fields p = sslConfig.obj("parameters");
    if (p == null) {
      return null;
    }
    String min = auto(p.enumName("minimumProtocolVersion"));
    String max = auto(p.enumName("maximumProtocolVersion"));
    List<String> ciphers = p.strList("cipherSuites");
    List<String> curves = p.strList("ecdhCurves");
    duplicates(p, "cipherSuites", ciphers);
    duplicates(p, "ecdhCurves", curves);
    p.finish();
    if (min != null && max != null && version(min) > version(max)) {
      p.problems().error(p.pathOf("minimumProtocolVersion"),
          "is " + min + ", above maximumProtocolVersion " + max + ": no TLS version is left");
    }
    if (min == null && max == null && ciphers.isEmpty() && curves.isEmpty()) {
      return null;
    }
    return new TlsParameters(min, max, ciphers, curves);
  }

  /**
   * {@code sniDomains}: each a host name Envoy can match SNI against, exactly or with one leading {@code *.};
   * lower-cased (SNI is case-insensitive). {@code *} alone stands for every SNI.
   */
  private static List<String> sniDomains(Fields f) {
    List<String> names = f.strList("sniDomains");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < names.size(); i++) {
      String n = names.get(i).toLowerCase(Locale.ROOT);
      String p = f.pathOf("sniDomains") + "[" + i + "]";
      String problem = n.equals("*") ? null : SniNames.problem(n);
      if (problem != null) {
        f.problems().error(p, problem + ", got " + f.shown("sniDomains", names.get(i)));
      } else if (!seen.add(n)) {
        f.problems().error(p, "repeats " + f.shown("sniDomains", names.get(i))
            + " (SNI names are case-insensitive); list each name once");
      }
    }
    return names.stream().map(n -> n.toLowerCase(Locale.ROOT)).distinct().toList();
  }

  private static void duplicates(Fields p, String key, List<String> values) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < values.size(); i++) {
      if (!seen.add(values.get(i))) {
        p.problems().error(p.pathOf(key) + "[" + i + "]", "repeats " + p.shown(key, values.get(i))
            + "; list each once");
      }
    }
  }

  private static String auto(String version) {
    return version == null || version.equals("TLS_AUTO") ? null : version;
  }

  private static int version(String name) {
    return GlooApi.table().enumType("ProtocolVersion").values().get(name);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
