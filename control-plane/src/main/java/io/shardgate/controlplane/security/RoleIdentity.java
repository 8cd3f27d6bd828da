package io.shardgate.controlplane.security;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * The roles a client certificate lets an Envoy ask for (xDS serving edge; docs/security.md). A role
 * {@code <writeNamespace>~<proxyName>} is named by either subject alternative name:
 *
 * <ul>
 *   <li>the URI {@code spiffe://<trust-domain>/ns/<writeNamespace>/sa/<proxyName>}: the SPIFFE ID that Istio and
 *       cert-manager's csi-driver-spiffe issue to a pod's service account, and Gloo's chart gives each gateway-proxy
 *       deployment a service account named after it, in the write namespace;
 *   <li>the DNS name {@code <proxyName>.<writeNamespace>}: easy to ask for in a cert-manager {@code Certificate} or
 *       with openssl, and the form of the node id Shardgate's bootstraps use.
 * </ul>
 *
 * <p>The subject's common name is never used: it is not a name constraint anyone checks, and SANs are what CAs
 * issue for identities. Immutable value; pure; thread-safe.
 *
 * @param uris the certificate's URI subject alternative names
 * @param dnsNames the certificate's DNS subject alternative names
 */
public record RoleIdentity(List<String> uris, List<String> dnsNames) {

  private static final int SAN_DNS = 2;
  private static final int SAN_URI = 6;
  private static final String SPIFFE = "spiffe://";

  public RoleIdentity {
    uris = List.copyOf(uris);
    dnsNames = List.copyOf(dnsNames);
  }

  /** The URI and DNS names of a certificate's subject alternative names (none when it has none). */
  public static RoleIdentity of(X509Certificate certificate) {
    List<String> uris = new ArrayList<>();
    List<String> dns = new ArrayList<>();
    Collection<List<?>> sans;
    try {
      sans = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      sans = null; // a malformed extension proves nothing
    }
    if (sans != null) {
      for (List<?> san : sans) {
        if (san.size() >= 2 && san.get(0) instanceof Integer type && san.get(1) instanceof String value) {
          if (type == SAN_URI) {
            uris.add(value);
          } else if (type == SAN_DNS) {
            dns.add(value);
          }
        }
      }
    }
    return new RoleIdentity(uris, dns);
  }

  /**
   * Whether this identity names {@code role}: a SPIFFE URI with the role's namespace and proxy name (in
   * {@code trustDomain}, or any trust domain when it is {@code null}), or the DNS name
   * {@code <proxyName>.<writeNamespace>}. A string that is not a role ({@code ns~name}) is never named.
   */
  public boolean permits(String role, String trustDomain) {
    int tilde = role.indexOf('~');
    if (tilde <= 0 || tilde == role.length() - 1 || role.indexOf('~', tilde + 1) >= 0) {
      return false;
    }
    String namespace = role.substring(0, tilde);
    String proxy = role.substring(tilde + 1);
    String path = "/ns/" + namespace + "/sa/" + proxy;
    for (String uri : uris) {
      if (uri.regionMatches(true, 0, SPIFFE, 0, SPIFFE.length())) {
        String rest = uri.substring(SPIFFE.length());
        int slash = rest.indexOf('/');
        if (slash > 0 && rest.substring(slash).equals(path)
            && (trustDomain == null || rest.substring(0, slash).equalsIgnoreCase(trustDomain))) {
          return true;
        }
      }
    }
    String dnsName = proxy + "." + namespace;
    for (String dns : dnsNames) {
      if (dns.toLowerCase(Locale.ROOT).equals(dnsName)) {
        return true;
      }
    }
    return false;
  }

  /** The names, for logs and error messages: {@code URI spiffe://..., DNS name}, or a note that there are none. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    uris.forEach(u -> parts.add("URI " + AdminHostPolicy.printable(u)));
    dnsNames.forEach(d -> parts.add("DNS " + AdminHostPolicy.printable(d)));
    return parts.isEmpty() ? "no URI or DNS subject alternative name" : String.join(", ", parts);
  }

  /** What a certificate for {@code role} must carry, for error messages. */
  public static String expectedFor(String role, String trustDomain) {
    int tilde = role.indexOf('~');
    if (tilde <= 0) {
      return "a certificate names the role <writeNamespace>~<proxyName> as the URI SAN spiffe://<trust-domain>/ns/"
          + "<writeNamespace>/sa/<proxyName> or the DNS SAN <proxyName>.<writeNamespace>";
    }
    String namespace = role.substring(0, tilde);
    String proxy = role.substring(tilde + 1);
    return "a certificate for role " + role + " carries the URI SAN spiffe://"
        + (trustDomain == null ? "<trust-domain>" : trustDomain) + "/ns/" + namespace + "/sa/" + proxy
        + " or the DNS SAN " + proxy + "." + namespace;
  }
}
